"""Start the chat app: ``python app.py`` (same as ``python -m assistant serve``).

Builds the index on first start; then serves http://127.0.0.1:7860 (see README for settings).
"""

from assistant.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["serve"]))
