"""Rubric grading: rubric files, the deterministic grader, reports and agreement with human labels.

from vpatient.grading import load_rubric, Grader
grade = Grader(load_rubric("history_taking")).grade(transcript)
grade.to_json()   # the grade JSON contract (design.md)
"""

from vpatient.grading.grader import EvidenceTurn, Grade, Grader, ItemGrade, SectionGrade, grade, grade_json
from vpatient.grading.rubric import load_rubric, load_rubric_file
from vpatient.grading.schema import Rubric

__all__ = [
    "EvidenceTurn",
    "Grade",
    "Grader",
    "ItemGrade",
    "Rubric",
    "SectionGrade",
    "grade",
    "grade_json",
    "load_rubric",
    "load_rubric_file",
]
