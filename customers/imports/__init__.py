"""Imports of customers and orders from files: CSV, Online Retail and CDNOW.

services.py is the entry point (create a job, run it, read its report); formats.py turns a file
into clean rows and row errors, chunk by chunk; writer.py upserts the clean rows set-based.
"""
