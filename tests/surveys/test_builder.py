"""The builder: ready-made surveys in four languages, questions and their rules, the pages and who
may open them."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from surveys import services
from surveys.models import Question, Survey

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("kind", ["nps", "csat", "ces", "enps", "pulse"])
def test_every_ready_made_survey_is_written_in_the_four_languages(kind):
    survey = services.survey_create_from_template(kind=kind)

    questions = list(survey.questions.order_by("position"))
    assert questions and questions[0].scale is not None
    assert all(set(q.texts) == {"en", "id", "ms", "ca"} for q in questions)
    assert survey.audience == ("employees" if kind in ("enps", "pulse") else "customers")
    assert survey.anonymous == (kind in ("enps", "pulse"))


def test_the_nps_follow_up_is_asked_only_of_detractors():
    survey = services.survey_create_from_template(kind="nps")

    better = survey.questions.get(position=2)

    assert better.texts["en"] == "What could we do better?"
    assert [better.shown_for(s) for s in (0, 6, 7, 10, None)] == [True, True, False, False, False]


def test_a_pulse_survey_refuses_an_eleventh_question():
    survey = services.survey_create_from_template(kind="pulse")
    while survey.questions.count() < 10:
        services.question_add(survey=survey, kind="scale_1_5", texts={"en": "More?"})

    with pytest.raises(ValidationError, match="at most 10 questions"):
        services.question_add(survey=survey, kind="text", texts={"en": "One too many"})

    assert survey.questions.count() == 10


def test_a_question_needs_its_fallback_text_and_choices_and_a_condition_within_the_scale():
    survey = services.survey_create(name="Custom", kind="custom", audience="customers")
    services.question_add(survey=survey, kind="scale_1_5", texts={"en": "How was it?"})

    with pytest.raises(ValidationError, match="fallback language"):
        services.question_add(survey=survey, kind="text", texts={"id": "Kenapa?"})
    with pytest.raises(ValidationError, match="at least two choices"):
        services.question_add(survey=survey, kind="single", texts={"en": "Why?"}, choices=[{"labels": {"en": "A"}}])
    with pytest.raises(ValidationError, match="within the first question's scale"):
        services.question_add(survey=survey, kind="text", texts={"en": "Why?"}, show_max=9)

    added = services.question_add(
        survey=survey,
        kind="multiple",
        texts={"en": "What?", "ca": "Què?"},
        choices=[{"labels": {"en": "Price", "ca": "Preu"}}, {"labels": {"en": "Speed"}}],
        show_max=2,
    )
    assert added.choice_labels("ca") == [("1", "Preu"), ("2", "Speed")]


def test_a_survey_is_activated_only_with_a_scale_first():
    survey = services.survey_create(name="Words", kind="custom", audience="customers")
    services.question_add(survey=survey, kind="text", texts={"en": "Tell us"})

    with pytest.raises(ValidationError, match="first question must be"):
        services.survey_activate(survey=survey)


def test_employee_kinds_are_for_employees_and_only_they_can_be_anonymous():
    with pytest.raises(ValidationError) as error:
        services.survey_create(name="x", kind="enps", audience="customers")
    assert "audience" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.survey_create(name="x", kind="custom", audience="customers", anonymous=True)
    assert "anonymous" in error.value.message_dict


def test_removing_a_question_moves_the_later_ones_up():
    survey = services.survey_create_from_template(kind="pulse")

    services.question_delete(question=survey.questions.get(position=2))

    assert list(survey.questions.values_list("position", flat=True)) == [1, 2, 3]


def test_a_marketer_builds_a_survey_in_the_browser(marta):
    client = Client()
    client.force_login(marta)

    created = client.post(reverse("surveys:from_template"), {"kind": "csat"})
    survey = Survey.objects.get()
    added = client.post(
        reverse("surveys:question_add", args=[survey.pk]),
        {"kind": "single", "text_en": "Which shop?", "choices_en": "North\nSouth", "choices_ca": "Nord\nSud"},
    )
    refused = client.post(reverse("surveys:question_add", args=[survey.pk]), {"kind": "text", "text_en": ""})
    page = client.get(survey.get_absolute_url())

    assert created.status_code == 302 and added.status_code == 302
    assert refused.status_code == 400 and "fallback language" in refused.content.decode()
    question = survey.questions.get(position=3)
    assert question.choices == [
        {"value": "1", "labels": {"en": "North", "ca": "Nord"}},
        {"value": "2", "labels": {"en": "South", "ca": "Sud"}},
    ]
    assert page.status_code == 200 and "Which shop?" in page.content.decode()


def test_the_builder_is_a_404_for_account_managers_and_users_without_a_role(alice, charlie):
    survey = services.survey_create_from_template(kind="nps")
    for user in (alice, charlie):
        client = Client()
        client.force_login(user)
        assert client.get(reverse("surveys:list")).status_code == 404
        assert client.get(survey.get_absolute_url()).status_code == 404
        assert client.post(reverse("surveys:from_template"), {"kind": "nps"}).status_code == 404
    assert Survey.objects.count() == 1
    assert Question.objects.filter(survey=survey).count() == 3
