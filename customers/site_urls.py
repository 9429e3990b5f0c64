"""Routes at the site root owned by customers (the kernel's urls include this module by name)."""

from django.urls import path

from .home import home

urlpatterns = [
    path("", home, name="home"),
]
