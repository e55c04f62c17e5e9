"""ccch-feedback: questions (hỏi đáp TTHC), feedback and petitions (phản ánh, kiến nghị) from
citizens and businesses, answered on time by the responsible unit. See docs/feedback.md."""

PLUGIN_NAME = "feedback"
