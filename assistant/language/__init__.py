"""Language: German text keys, tokens, stems and compound parts, synonyms, and what a question asks for."""
