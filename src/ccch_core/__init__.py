"""ccch core: the plan model, plan files, periods, progress data, storage and the plugin system.

The names exported here are the core's public API for deployments and plugins.
"""

from importlib.metadata import PackageNotFoundError, version

from .config import ConfigError, DeploymentConfig, load_config
from .deployment import Deployment
from .hookspecs import hookimpl
from .model import Indicator, IndicatorKind, Plan, Task, Unit, UnitGroup
from .periods import VN_TZ, Period, PeriodError, PeriodType
from .planfile import PlanFileError, load_plan, loads_plan
from .plugins import PluginError
from .progress import (
    MeasureContext,
    MeasureValue,
    ProgressError,
    Status,
    evaluate_plan,
    record_activity_report,
    record_measurement,
    reporting_completeness,
)

try:
    __version__ = version("ccch-core")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

__all__ = [
    "VN_TZ",
    "ConfigError",
    "Deployment",
    "DeploymentConfig",
    "Indicator",
    "IndicatorKind",
    "MeasureContext",
    "MeasureValue",
    "Period",
    "PeriodError",
    "PeriodType",
    "Plan",
    "PlanFileError",
    "PluginError",
    "ProgressError",
    "Status",
    "Task",
    "Unit",
    "UnitGroup",
    "__version__",
    "evaluate_plan",
    "hookimpl",
    "load_config",
    "load_plan",
    "loads_plan",
    "record_activity_report",
    "record_measurement",
    "reporting_completeness",
]
