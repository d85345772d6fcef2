"""Region-wide pairing plans as an exact mixed-integer programme (seed 004 三、(三)).

Every leading industry must be served by `schools_per_industry` schools and every school must
serve `industries_per_school` leading industries; programmes, enterprises, mentors and practice
bases have limited places; what already exists counts toward all of it. A plan chooses
school–enterprise pairs (each carried by one of the school's programmes) maximising

    Σ fit(pair) · x_pair  +  Σ value(school, industry) · y_school,industry

where fit is the ranker's score of the pair and y says the school newly takes up the industry.
Pure: plain numbers in, plain numbers out; the service builds the problem from the database.

Solved with HiGHS (scipy.optimize.milp); `solver="cpsat"` builds the same model for OR-Tools
CP-SAT (integer coefficients, fits scaled by FIT_SCALE) — see docs/notes/issue-13.md for the
measurement that chose HiGHS. An infeasible request is answered by an elastic model whose
slacks are the smallest shortfalls (see `shortfalls`).
"""

from __future__ import annotations

# The plan is built in three modules; this one keeps the import path the service, the
# benchmark and the tests use (`from models import planner as P`).
from models.planner_model import _build, _Model
from models.planner_problem import (
    FIT_SCALE,
    INDUSTRY_MAX,
    INDUSTRY_MIN,
    SCHOOL_MAX,
    SCHOOL_MIN,
    Candidate,
    Problem,
    Quotas,
    Shortfall,
    Solution,
    violations,
)
from models.planner_solve import (
    eligible_industries,
    eligible_schools,
    obvious_shortfalls,
    shortfalls,
    solve,
)

__all__ = [
    "FIT_SCALE",
    "INDUSTRY_MAX",
    "INDUSTRY_MIN",
    "SCHOOL_MAX",
    "SCHOOL_MIN",
    "Candidate",
    "Problem",
    "Quotas",
    "Shortfall",
    "Solution",
    "_Model",
    "_build",
    "eligible_industries",
    "eligible_schools",
    "obvious_shortfalls",
    "shortfalls",
    "solve",
    "violations",
]
