"""Graded labs: the catalog of labs/, gradelib for graders, the grade runner.

    catalog.py   where the labs are; lab.toml read and checked
    gradelib.py  what a grader (labs/NAME/grade.py) is written with: @test, Grade
    runner.py    `nanokernel grade`: load, run, score, transcripts
    cli.py       the `lab` and `grade` subcommands

docs/labs.md is the guide for students and teachers.
"""
