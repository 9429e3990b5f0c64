from django.db import migrations, models

# Every change to a survey's questions raises the survey's questions_version, in the database, so that
# the per-process cache of the answer page (surveys/answers.py, ``questions_for``) sees it whoever made
# the change: the builder, the admin's inline, a data migration or plain SQL.
POSTGRES_UP = """
CREATE OR REPLACE FUNCTION surveys_question_version_bump() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE surveys_survey SET questions_version = questions_version + 1 WHERE id = OLD.survey_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND (TG_OP = 'INSERT' OR NEW.survey_id <> OLD.survey_id) THEN
        UPDATE surveys_survey SET questions_version = questions_version + 1 WHERE id = NEW.survey_id;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER surveys_question_version
    AFTER INSERT OR UPDATE OR DELETE ON surveys_question
    FOR EACH ROW EXECUTE FUNCTION surveys_question_version_bump();
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS surveys_question_version ON surveys_question;
DROP FUNCTION IF EXISTS surveys_question_version_bump();
"""
SQLITE_UP = [
    "CREATE TRIGGER surveys_question_version_ins AFTER INSERT ON surveys_question BEGIN "
    "UPDATE surveys_survey SET questions_version = questions_version + 1 WHERE id = NEW.survey_id; END",
    "CREATE TRIGGER surveys_question_version_upd AFTER UPDATE ON surveys_question BEGIN "
    "UPDATE surveys_survey SET questions_version = questions_version + 1 WHERE id IN (OLD.survey_id, NEW.survey_id); END",
    "CREATE TRIGGER surveys_question_version_del AFTER DELETE ON surveys_question BEGIN "
    "UPDATE surveys_survey SET questions_version = questions_version + 1 WHERE id = OLD.survey_id; END",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS surveys_question_version_ins",
    "DROP TRIGGER IF EXISTS surveys_question_version_upd",
    "DROP TRIGGER IF EXISTS surveys_question_version_del",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        statements = statements_by_vendor.get(schema_editor.connection.vendor)
        if isinstance(statements, str):
            statements = [statements]
        for statement in statements or []:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("surveys", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="survey",
            name="questions_version",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.RunPython(
            _run({"postgresql": POSTGRES_UP, "sqlite": SQLITE_UP}),
            _run({"postgresql": POSTGRES_DOWN, "sqlite": SQLITE_DOWN}),
        ),
    ]
