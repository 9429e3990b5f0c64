"""Contact plans (docs/contact-plans.md): the builder's checks, enrolment (by trigger, by hand), the
step runner, tasks' outcomes, results, and their pages and API.

- ``validation``: a plan and its steps checked as a whole (clear errors, never a 500);
- ``services``: every write: plans, enrolments by hand, ending, task outcomes;
- ``triggers``: the set-based enrolment of each trigger (one INSERT ... SELECT per plan per run);
- ``runner``: due steps, in chunks that the workers share;
- ``selectors`` and ``results``: reads, scoped by customers.selectors' visibility rule.
"""
