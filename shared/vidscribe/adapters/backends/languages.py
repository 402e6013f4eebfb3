"""Whisper's languages: store an ISO 639-1 code ("en") whichever way a backend spells the language."""

from __future__ import annotations

# Whisper's language table (ISO 639-1 code -> the name whisper-1's verbose_json reports), used to
# store a code ("en") whichever way the API spells the language.
_WHISPER_TABLE = (
    "en english zh chinese de german es spanish ru russian ko korean fr french ja japanese "
    "pt portuguese tr turkish pl polish ca catalan nl dutch ar arabic sv swedish it italian "
    "id indonesian hi hindi fi finnish vi vietnamese he hebrew uk ukrainian el greek ms malay "
    "cs czech ro romanian da danish hu hungarian ta tamil no norwegian th thai ur urdu "
    "hr croatian bg bulgarian lt lithuanian la latin mi maori ml malayalam cy welsh sk slovak "
    "te telugu fa persian lv latvian bn bengali sr serbian az azerbaijani sl slovenian "
    "kn kannada et estonian mk macedonian br breton eu basque is icelandic hy armenian "
    "ne nepali mn mongolian bs bosnian kk kazakh sq albanian sw swahili gl galician mr marathi "
    "pa punjabi si sinhala km khmer sn shona yo yoruba so somali af afrikaans oc occitan "
    "ka georgian be belarusian tg tajik sd sindhi gu gujarati am amharic yi yiddish lo lao "
    "uz uzbek fo faroese ht haitian_creole ps pashto tk turkmen nn nynorsk mt maltese "
    "sa sanskrit lb luxembourgish my myanmar bo tibetan tl tagalog mg malagasy as assamese "
    "tt tatar haw hawaiian ln lingala ha hausa ba bashkir jw javanese su sundanese yue cantonese"
)
_WHISPER_LANGUAGES = _WHISPER_TABLE.split()
LANGUAGE_CODES: dict[str, str] = {
    name.replace("_", " "): code
    for code, name in zip(_WHISPER_LANGUAGES[::2], _WHISPER_LANGUAGES[1::2], strict=True)
}
LANGUAGE_CODES.update({"burmese": "my", "castilian": "es", "flemish": "nl", "mandarin": "zh", "valencian": "ca"})


def normalize_language(language: str | None) -> str | None:
    """``"english"``/``"English"``/``"en"`` -> ``"en"``; unknown values are kept, lower-cased."""
    if not language or not str(language).strip():
        return None
    value = str(language).strip().lower()
    return LANGUAGE_CODES.get(value, value)
