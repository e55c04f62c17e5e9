"""ccch-survey: citizen satisfaction surveys reached by QR codes on posters (plugin ``survey``).

Modules: :mod:`.settings` (the ``[plugins.survey]`` table), :mod:`.definition` (surveys, versions,
TOML files), :mod:`.schema` (migrations), :mod:`.store` (placements, scans, responses — the hot
path), :mod:`.results` (indices, measures, report sections, data tables), :mod:`.posters` (QR codes
and PDF posters), :mod:`.charts` (server-rendered SVG), :mod:`.web` (citizen and officer pages),
:mod:`.cli` (``ccch survey …``) and :mod:`.plugin` (the hook implementations).
"""

PLUGIN_NAME = "survey"
