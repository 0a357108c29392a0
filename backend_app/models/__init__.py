"""Models, one module per aggregate. Importing this package registers every table."""

from .analysis import Analysis
from .chat import ChatMessage
from .document import ShotDocument
from .flag import Flag, FlagAudit
from .job import Job
from .requirement import RequirementBatch, RequirementResult
from .session import Session
from .usage import UsageRecord
from .user import User

__all__ = ["Analysis", "Job", "Session", "ShotDocument", "UsageRecord", "User"]
__all__ += ["Flag", "FlagAudit"]
__all__ += ["ChatMessage"]
__all__ += ["RequirementBatch", "RequirementResult"]
