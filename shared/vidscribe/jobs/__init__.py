"""A video's job: its states, the transitions between them and who may take it (``states``).

Pure data and rules, imported by the workflow and by the adapters alike (it imports neither); the
PostgreSQL adapter renders its queries from it (``adapters/postgres/job_sql.py``). Parts of a long
video (issue 22) get their own table beside the job's, in a module of their own here.
"""

from .states import FINISHED, IN_FLIGHT, TRANSITIONS, JobState, allowed

__all__ = ["FINISHED", "IN_FLIGHT", "TRANSITIONS", "JobState", "allowed"]
