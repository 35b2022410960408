"""The web: the Gradio chat with its admin tab, the JSON API and the widget, served by one server."""
