"""People from interviews, and the instruments social science asks them (issue 21).

- :mod:`~smallville.people.transcript` — interview transcripts (plain text turns or JSON pairs);
- :mod:`~smallville.people.summarize` — decisions ``summarize_interview`` and ``expert_reflect``;
- :mod:`~smallville.people.instrument` — survey instruments in YAML (items, constructs, experiments);
- :mod:`~smallville.people.respondent` — what an answerer may see (``interview|persona|demographic``);
- :mod:`~smallville.people.answer` — decision ``answer_survey``;
- :mod:`~smallville.people.scoring` — answers scored against people's own (accuracy, TVD, effects, bias);
- :mod:`~smallville.people.writeup` — answers.csv, summary.json, report.md/.html with plots;
- :mod:`~smallville.people.synthetic` — a *synthetic* panel for benchmarks and tests, kept apart:
  nothing that answers imports it.

The verbs are :mod:`smallville.persona` (``persona from-interview``) and :mod:`smallville.survey`.
"""
