"""Routes of the worklist ("My book"), the follow-up actions and book performance (namespace
"worklist"), mounted at the site root by retention_crm.urls."""

from django.urls import path

from . import book_views, views, worklist_views

app_name = "worklist"

urlpatterns = [
    path("my-book/", worklist_views.worklist_page, name="home"),
    path("my-book/<id:customer_pk>/log/", worklist_views.worklist_log_view, name="log"),
    path("my-book/<id:customer_pk>/follow-up/", worklist_views.worklist_followup_view, name="followup"),
    path("my-book/<id:customer_pk>/snooze/", worklist_views.worklist_snooze_view, name="snooze"),
    path("my-book/<id:customer_pk>/wake/", worklist_views.worklist_unsnooze_view, name="unsnooze"),
    path("follow-ups/", views.followup_due_page, name="followups_due"),
    path("follow-ups/<id:pk>/reschedule/", views.followup_reschedule_view, name="followup_reschedule"),
    path("follow-ups/customer/<id:customer_pk>/", views.followup_schedule_view, name="followup_schedule"),
    path("follow-ups/<id:pk>/complete/", views.followup_complete_view, name="followup_complete"),
    path("follow-ups/<id:pk>/cancel/", views.followup_cancel_view, name="followup_cancel"),
    path("book-performance/", book_views.book_page, name="book"),
    path("book-performance/csv/", book_views.book_csv, name="book_csv"),
    path("book-performance/reassign/", book_views.book_reassign_page, name="book_reassign"),
]
