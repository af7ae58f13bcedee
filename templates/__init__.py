"""The Jinja templates of the two notebooks and the dppN.py modules, installed as package data."""
