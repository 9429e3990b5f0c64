from django.urls import path

from . import views

app_name = "team"

urlpatterns = [
    path("employees/", views.employee_list_view, name="employees"),
    path("employees/new/", views.employee_form_view, name="employee_create"),
    path("employees/<id:pk>/", views.employee_form_view, name="employee_edit"),
    path("employees/import/", views.employee_import_view, name="employee_import"),
    path("teams/new/", views.team_form_view, name="team_create"),
    path("teams/<id:pk>/", views.team_form_view, name="team_edit"),
    path("one-to-ones/", views.one_to_one_list_view, name="one_to_ones"),
    path("one-to-ones/<id:pk>/", views.one_to_one_detail_view, name="one_to_one"),
    path("one-to-ones/<id:pk>/agenda/", views.agenda_add_view, name="agenda_add"),
    path("one-to-ones/<id:pk>/agenda/<id:item_pk>/remove/", views.agenda_remove_view, name="agenda_remove"),
    path("one-to-ones/<id:pk>/shared-notes/", views.shared_notes_view, name="shared_notes"),
    path("one-to-ones/<id:pk>/private-note/", views.private_note_view, name="private_note"),
    path("one-to-ones/<id:pk>/actions/", views.action_add_view, name="action_add"),
    path("one-to-ones/<id:pk>/actions/<id:action_pk>/done/", views.action_done_view, name="action_done"),
    path("one-to-ones/<id:pk>/held/", views.meeting_hold_view, name="meeting_hold"),
    path("one-to-ones/<id:pk>/reschedule/", views.meeting_reschedule_view, name="meeting_reschedule"),
    path("one-to-ones/<id:pk>/end/", views.one_to_one_end_view, name="end"),
]
