from django.apps import AppConfig


class ContactPlansConfig(AppConfig):
    name = "contact_plans"
