"""Models, one module per aggregate. Importing this package registers every table."""

from .job import Job
from .session import Session
from .user import User

__all__ = ["Job", "Session", "User"]
