"""Answers by area as published sheets: one row per area, the question's words over its answers.

The wide layout of NHS Digital's answers-by-council table: England, then the regions, then the councils,
one row each; for each question, a block headed by the question's words (from the questionnaire spec),
one column per answer (labelled with the answer's words) and the respondents who answered the question.
Percentages and their margins of error go on two sheets of the same shape. Figures come published
(``rules.publish_questions``: suppressed, rounded) and are stored as numbers; symbols stay text.
"""

from __future__ import annotations

import pandas as pd

from surveykit.publish.ascof_tables import area_columns, as_numbers, grid
from surveykit.publish.rules import note_ref
from surveykit.publish.sheet import Block, PublishedSheet

def question_heading(spec, question: str) -> str:
    """A question's heading as the form asks it: "Q3a: Which of the following statements ...?"."""
    if spec is None:
        return question
    item = spec.items.get(question)
    combined = False
    if item is None:
        item = next((i for i in spec.items.values()
                     if i.easy_read is not None and i.easy_read.combined_name == question), None)
        combined = item is not None
    if item is None:
        return question
    number = "Q" + item.name[1:] if item.name[:1].lower() == "q" else item.name
    text = item.text or ""
    for choice in (getattr(spec, "multi_choice", None) or {}).values():
        if item.name in choice.parts:
            text = f"{choice.text} Option: {item.text}"
    if combined:
        text += " (standard and easy read questionnaires combined)"
    return f"{number}: {text}" if text else number


def answers_sheets(published: pd.DataFrame, spec, councils: pd.DataFrame | None = None) -> list[PublishedSheet]:
    """"Answers by area" (percentages, and the respondents answering each question) and "Margins of error",
    from a published question table (``publish_questions``) or raw question tables (published here)."""
    from surveykit.publish.rules import publish_questions

    if pd.api.types.is_numeric_dtype(published["percent"]):
        published = publish_questions(published)
    published = published.assign(answer=published["answer"].astype("str"))
    areas, id_block = area_columns(published, councils)
    order = published[["question", "answer", "answer_label"]].drop_duplicates(["question", "answer"])
    answers = list(zip(order["question"], order["answer"]))
    percent = grid(areas, published, answers, ["question", "answer"], as_numbers(published["percent"]))
    margin = grid(areas, published, answers, ["question", "answer"], as_numbers(published["margin_of_error"]))
    bases = published.drop_duplicates(["area_level", "area_code", "question"])
    questions = list(pd.unique(order["question"]))
    base = grid(areas, bases, questions, ["question"], as_numbers(bases["base"], integer=True))
    column_of = {key: k for k, key in enumerate(answers)}

    percent_columns, margin_columns = {}, {}
    percent_blocks, margin_blocks = [id_block], [id_block]
    widths = {"area_type": 9}
    for question, answers in order.groupby("question", sort=False):
        heading = question_heading(spec, question)
        columns = [f"{question}:{a}" for a in answers["answer"]]
        labels = tuple(str(label) for label in answers["answer_label"])
        for column, answer in zip(columns, answers["answer"]):
            percent_columns[column] = percent[:, column_of[(question, answer)]]
            margin_columns[column] = margin[:, column_of[(question, answer)]]
        base_column = f"{question}:respondents"
        percent_columns[base_column] = base[:, questions.index(question)]
        percent_blocks.append(Block(heading, (*columns, base_column), (*labels, "Respondents")))
        margin_blocks.append(Block(heading, tuple(columns), labels))
    areas = areas.reset_index(drop=True)
    percent_frame = pd.concat([areas, pd.DataFrame(percent_columns, index=areas.index, dtype=object)], axis=1)
    margin_frame = pd.concat([areas, pd.DataFrame(margin_columns, index=areas.index, dtype=object)], axis=1)
    answer_columns = [c for b in margin_blocks[1:] for c in b.columns]
    survey = f"Survey: {spec.title}." if spec is not None else ""
    symbols = ("Symbols: [c] suppressed (1 or 2 respondents answered the question, or, for a margin of error, "
               "1 gave the answer), [w] no respondents, [x] not available "
               f"{note_ref('suppressed', 'no_respondents', 'not_available')}.")
    where = f"England, then the regions, then the councils {note_ref('areas')}."
    return [
        PublishedSheet(
            name="Answers by area", title="Answers by area: the percentage of each question's respondents "
                                          "giving each answer",
            lines=[line for line in (
                survey,
                f"Weighted percentages {note_ref('weighting')}, rounded to 1 decimal place; Respondents: the "
                f"people who answered the question, rounded to the nearest 5 {note_ref('rounding')}. {where}",
                symbols) if line],
            frame=percent_frame, blocks=percent_blocks,
            formats={**{c: "percent" for c in answer_columns},
                     **{b.columns[-1]: "count" for b in percent_blocks[1:]}},
            freeze_columns=len(id_block.columns), widths=widths,
            description="Each question's answers: weighted percentages and respondents, for England, regions "
                        "and councils."),
        PublishedSheet(
            name="Margins of error", title="Margins of error of the percentages on the Answers by area sheet",
            lines=[line for line in (
                survey,
                f"Margins of error in percentage points {note_ref('margin_of_error')}, rounded to 1 decimal "
                f"place {note_ref('rounding')}. {where}",
                symbols) if line],
            frame=margin_frame, blocks=margin_blocks, formats={c: "percent" for c in answer_columns},
            freeze_columns=len(id_block.columns), widths=widths,
            description="The margin of error of each percentage on the Answers by area sheet."),
    ]
