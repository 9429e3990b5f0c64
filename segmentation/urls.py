from django.urls import path

from . import views

app_name = "segments"

urlpatterns = [
    path("", views.segment_list, name="list"),
    path("new/", views.segment_create_view, name="create"),
    path("builder/tree/", views.builder_tree, name="builder_tree"),
    path("builder/preview/", views.builder_preview, name="builder_preview"),
    path("<id:pk>/", views.segment_detail, name="detail"),
    path("<id:pk>/edit/", views.segment_edit, name="edit"),
    path("<id:pk>/delete/", views.segment_delete_view, name="delete"),
    path("<id:pk>/refresh/", views.segment_refresh_view, name="refresh"),
    path("<id:pk>/members.csv", views.segment_export, name="export"),
]
