"""Documents: the files of the corpus read into ``Document``s (text, HTML, PDF with text recognition,
DOCX) and cut into passages with offsets into their source."""
