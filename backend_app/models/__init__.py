"""Models, one module per aggregate. Importing this package registers every table."""

from backend_app.models.analysis import Analysis
from backend_app.models.api_key import ApiKey, ApiKeyEvent
from backend_app.models.chat import ChatMessage
from backend_app.models.document import ShotDocument
from backend_app.models.documents import Document, DocumentPage
from backend_app.models.flag import Flag, FlagAudit
from backend_app.models.job import Job
from backend_app.models.passage import Passage
from backend_app.models.quota import UserQuota
from backend_app.models.requirement import RequirementBatch, RequirementResult
from backend_app.models.session import Session
from backend_app.models.usage import UsageRecord
from backend_app.models.user import User

__all__ = ["Analysis", "Job", "Session", "ShotDocument", "UsageRecord", "User"]
__all__ += ["Flag", "FlagAudit"]
__all__ += ["ChatMessage"]
__all__ += ["RequirementBatch", "RequirementResult"]
__all__ += ["UserQuota"]
__all__ += ["ApiKey", "ApiKeyEvent"]
__all__ += ["Passage"]
__all__ += ["Document", "DocumentPage"]
