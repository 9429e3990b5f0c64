"""The ready-made surveys a marketer starts from: NPS, CSAT, CES, eNPS and pulse, each written in
the four languages that ship (English, Bahasa Indonesia, Bahasa Melayu, Catalan).

Data, not code: ``survey_create_from_template`` copies one into a new draft survey, which the
marketer then changes freely (the template itself is never changed).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from .models import Audience, Kind, Question

RECOMMEND = {
    "en": "How likely are you to recommend us to a friend or colleague?",
    "id": "Seberapa besar kemungkinan Anda merekomendasikan kami kepada teman atau kolega?",
    "ms": "Sejauh manakah anda akan mengesyorkan kami kepada rakan atau rakan sekerja?",
    "ca": "Amb quina probabilitat ens recomanaries a un amic o a un company de feina?",
}
BETTER = {
    "en": "What could we do better?",
    "id": "Apa yang bisa kami lakukan dengan lebih baik?",
    "ms": "Apakah yang boleh kami lakukan dengan lebih baik?",
    "ca": "Què podríem fer millor?",
}
LIKE_MOST = {
    "en": "What do you like most about us?",
    "id": "Apa yang paling Anda sukai dari kami?",
    "ms": "Apakah yang paling anda suka tentang kami?",
    "ca": "Què és el que més t'agrada de nosaltres?",
}
SATISFIED = {
    "en": "How satisfied are you with your recent experience with us?",
    "id": "Seberapa puas Anda dengan pengalaman terakhir Anda bersama kami?",
    "ms": "Sejauh manakah anda berpuas hati dengan pengalaman terkini anda bersama kami?",
    "ca": "Quin grau de satisfacció tens amb la teva experiència recent amb nosaltres?",
}
WENT_WRONG = {
    "en": "What went wrong?",
    "id": "Apa yang tidak berjalan dengan baik?",
    "ms": "Apakah yang tidak kena?",
    "ca": "Què ha anat malament?",
}
EASY = {
    "en": "How much do you agree: we made it easy for you to handle your issue.",
    "id": "Seberapa setuju Anda: kami memudahkan Anda menyelesaikan masalah Anda.",
    "ms": "Sejauh manakah anda bersetuju: kami memudahkan anda menyelesaikan isu anda.",
    "ca": "Fins a quin punt hi estàs d'acord: t'hem posat fàcil resoldre la teva qüestió.",
}
HARD = {
    "en": "What made it hard?",
    "id": "Apa yang menyulitkan?",
    "ms": "Apakah yang menyukarkan?",
    "ca": "Què ho ha fet difícil?",
}
WORKPLACE = {
    "en": "How likely are you to recommend us as a place to work?",
    "id": "Seberapa besar kemungkinan Anda merekomendasikan kami sebagai tempat bekerja?",
    "ms": "Sejauh manakah anda akan mengesyorkan kami sebagai tempat bekerja?",
    "ca": "Amb quina probabilitat ens recomanaries com a lloc de treball?",
}
BETTER_WORKPLACE = {
    "en": "What would make this a better place to work?",
    "id": "Apa yang akan membuat tempat ini menjadi tempat kerja yang lebih baik?",
    "ms": "Apakah yang akan menjadikan ini tempat kerja yang lebih baik?",
    "ca": "Què faria d'aquest un lloc millor per treballar?",
}
WEEK = {
    "en": "How do you feel about your work this week?",
    "id": "Bagaimana perasaan Anda tentang pekerjaan Anda minggu ini?",
    "ms": "Bagaimanakah perasaan anda tentang kerja anda minggu ini?",
    "ca": "Com et sents amb la teva feina aquesta setmana?",
}
TOOLS = {
    "en": "I have what I need to do my job well.",
    "id": "Saya memiliki apa yang saya butuhkan untuk melakukan pekerjaan dengan baik.",
    "ms": "Saya mempunyai apa yang saya perlukan untuk melakukan kerja saya dengan baik.",
    "ca": "Tinc el que necessito per fer bé la meva feina.",
}
RECOGNISED = {
    "en": "I feel recognised for my work.",
    "id": "Saya merasa pekerjaan saya dihargai.",
    "ms": "Saya rasa kerja saya dihargai.",
    "ca": "Sento que la meva feina és reconeguda.",
}
ANYTHING_ELSE = {
    "en": "Anything else you want to share?",
    "id": "Ada hal lain yang ingin Anda sampaikan?",
    "ms": "Ada apa-apa lagi yang ingin anda kongsikan?",
    "ca": "Hi ha alguna cosa més que vulguis compartir?",
}

Q = Question.Kind

TEMPLATES: dict[str, dict] = {
    Kind.NPS: {
        "name": _("Net Promoter Score"),
        "audience": Audience.CUSTOMERS,
        "questions": [
            {"kind": Q.SCALE_0_10, "texts": RECOMMEND, "required": True},
            {"kind": Q.TEXT, "texts": BETTER, "show_max": 6},
            {"kind": Q.TEXT, "texts": LIKE_MOST, "show_min": 7},
        ],
    },
    Kind.CSAT: {
        "name": _("Customer satisfaction"),
        "audience": Audience.CUSTOMERS,
        "questions": [
            {"kind": Q.SCALE_1_5, "texts": SATISFIED, "required": True},
            {"kind": Q.TEXT, "texts": WENT_WRONG, "show_max": 3},
        ],
    },
    Kind.CES: {
        "name": _("Customer effort"),
        "audience": Audience.CUSTOMERS,
        "questions": [
            {"kind": Q.SCALE_1_7, "texts": EASY, "required": True},
            {"kind": Q.TEXT, "texts": HARD, "show_max": 4},
        ],
    },
    Kind.ENPS: {
        "name": _("Employee Net Promoter Score"),
        "audience": Audience.EMPLOYEES,
        "anonymous": True,
        "recurrence": "quarterly",
        "questions": [
            {"kind": Q.SCALE_0_10, "texts": WORKPLACE, "required": True},
            {"kind": Q.TEXT, "texts": BETTER_WORKPLACE, "show_max": 6},
        ],
    },
    Kind.PULSE: {
        "name": _("Pulse survey"),
        "audience": Audience.EMPLOYEES,
        "anonymous": True,
        "recurrence": "weekly",
        "min_gap_days": 6,
        "questions": [
            {"kind": Q.SCALE_1_5, "texts": WEEK, "required": True},
            {"kind": Q.SCALE_1_5, "texts": TOOLS},
            {"kind": Q.SCALE_1_5, "texts": RECOGNISED},
            {"kind": Q.TEXT, "texts": ANYTHING_ELSE},
        ],
    },
}
