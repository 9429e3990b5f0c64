"""The templates every installation starts with, in the four languages the product ships: the order
thank-you (transactional), a first-purchase welcome, a check-in and a win-back offer (promotional).

Installed by a data migration (contact_plans 0006), not by the demo seed: the order thank-you is
sent from the first order on, in production as on a laptop, and marketers edit these rather than
start from nothing. A template that already has the key is left as it is, so running the install
again (or after a marketer changed a template) changes nothing. Because a migration calls
``ready_made_install`` with the historical models, it writes only the fields the 0005 migration
created.
"""

from django.utils.translation import gettext, gettext_noop

_SIGN_OFF_MANAGER = {
    "en": "{% if account_manager.email %}<p>Any questions? {{ account_manager.first_name }} is happy to help: "
    '<a href="mailto:{{ account_manager.email }}">{{ account_manager.email }}</a>.</p>{% endif %}',
    "id": "{% if account_manager.email %}<p>Ada pertanyaan? {{ account_manager.first_name }} siap membantu: "
    '<a href="mailto:{{ account_manager.email }}">{{ account_manager.email }}</a>.</p>{% endif %}',
    "ms": "{% if account_manager.email %}<p>Ada sebarang soalan? {{ account_manager.first_name }} sedia membantu: "
    '<a href="mailto:{{ account_manager.email }}">{{ account_manager.email }}</a>.</p>{% endif %}',
    "ca": "{% if account_manager.email %}<p>Teniu cap pregunta? {{ account_manager.first_name }} us hi ajudarà de gust: "
    '<a href="mailto:{{ account_manager.email }}">{{ account_manager.email }}</a>.</p>{% endif %}',
}

# The thank-you is transactional (no automatic footer), but says where to stop the promotional mail.
_PREFERENCES = {
    "en": '<p style="font-size:12px;color:#6c757d">News and offers by email: <a href="{{ preferences_url }}">choose '
    'what you receive</a> or <a href="{{ unsubscribe_url }}">unsubscribe</a>.</p>',
    "id": '<p style="font-size:12px;color:#6c757d">Kabar dan penawaran lewat email: <a href="{{ preferences_url }}">'
    'pilih apa yang Anda terima</a> atau <a href="{{ unsubscribe_url }}">berhenti berlangganan</a>.</p>',
    "ms": '<p style="font-size:12px;color:#6c757d">Berita dan tawaran melalui e-mel: <a href="{{ preferences_url }}">'
    'pilih apa yang anda terima</a> atau <a href="{{ unsubscribe_url }}">berhenti langgan</a>.</p>',
    "ca": '<p style="font-size:12px;color:#6c757d">Notícies i ofertes per correu: <a href="{{ preferences_url }}">'
    'trieu què voleu rebre</a> o <a href="{{ unsubscribe_url }}">doneu-vos de baixa</a>.</p>',
}

_RECOMMENDED = {
    "en": "You may also like",
    "id": "Mungkin Anda juga suka",
    "ms": "Anda mungkin juga suka",
    "ca": "També us pot agradar",
}


# Each product a link when the shop has pages (metrics' PRODUCT_URL), else its name.
_PRODUCT_ITEMS = (
    "<ul>{% for product in recommended_products %}<li>{% if product.url %}"
    '<a href="{{ product.url }}">{{ product.name }}</a>{% else %}{{ product.name }}{% endif %} '
    "{{ product.price }}</li>{% endfor %}</ul>"
)


def _recommended(language: str) -> str:
    return "{% if recommended_products %}<h2>" + _RECOMMENDED[language] + "</h2>" + _PRODUCT_ITEMS + "{% endif %}"


# The thank-you's offer of related products at a discount. The discount is the marketer's to state
# (and the code theirs to create in the shop): they edit this paragraph. recommended_products is
# empty for a customer without marketing consent, so the offer reaches only those who accepted offers.
_BOUGHT_TOGETHER_OFFER = {
    "en": "<h2>Often bought with your order</h2>\n<p>As a thank-you, <strong>10% off</strong> any of these with the "
    "code <strong>THANKYOU10</strong>, for 30 days:</p>",
    "id": "<h2>Sering dibeli bersama pesanan Anda</h2>\n<p>Sebagai tanda terima kasih, <strong>diskon 10%</strong> "
    "untuk produk berikut dengan kode <strong>THANKYOU10</strong>, berlaku 30 hari:</p>",
    "ms": "<h2>Sering dibeli bersama pesanan anda</h2>\n<p>Sebagai tanda terima kasih, <strong>diskaun 10%</strong> "
    "untuk mana-mana produk ini dengan kod <strong>THANKYOU10</strong>, sah selama 30 hari:</p>",
    "ca": "<h2>Sovint es compren amb la vostra comanda</h2>\n<p>Com a agraïment, <strong>un 10% de descompte</strong> "
    "en qualsevol d'aquests productes amb el codi <strong>THANKYOU10</strong>, durant 30 dies:</p>",
}


def _bought_together(language: str) -> str:
    return "{% if recommended_products %}" + _BOUGHT_TOGETHER_OFFER[language] + _PRODUCT_ITEMS + "{% endif %}\n"


READY_MADE = [
    {
        "key": "order-thank-you",
        "name": gettext_noop("Order thank-you"),
        "channel": "email",
        "purpose": "transactional",
        "topic": "",
        "contents": {
            "en": {
                "subject": "Thank you for your order {{ order.number }}",
                "html": "<p>Hi {{ customer.first_name }},</p>\n"
                "<p>Thank you for your order {{ order.number }} of {{ order.date|date }}. We have received it and "
                "are preparing it now.</p>\n<p>Order total: <strong>{{ order.total }}</strong></p>\n"
                + _bought_together("en")
                + _SIGN_OFF_MANAGER["en"]
                + "\n<p>Thank you for shopping with us!</p>\n"
                + _PREFERENCES["en"],
            },
            "id": {
                "subject": "Terima kasih atas pesanan Anda {{ order.number }}",
                "html": "<p>Halo {{ customer.first_name }},</p>\n"
                "<p>Terima kasih atas pesanan Anda {{ order.number }} tanggal {{ order.date|date }}. Pesanan sudah "
                "kami terima dan sedang kami siapkan.</p>\n<p>Total pesanan: <strong>{{ order.total }}</strong></p>\n"
                + _bought_together("id")
                + _SIGN_OFF_MANAGER["id"]
                + "\n<p>Terima kasih telah berbelanja bersama kami!</p>\n"
                + _PREFERENCES["id"],
            },
            "ms": {
                "subject": "Terima kasih atas pesanan anda {{ order.number }}",
                "html": "<p>Hai {{ customer.first_name }},</p>\n"
                "<p>Terima kasih atas pesanan anda {{ order.number }} bertarikh {{ order.date|date }}. Kami telah "
                "menerimanya dan sedang menyediakannya sekarang.</p>\n"
                "<p>Jumlah pesanan: <strong>{{ order.total }}</strong></p>\n"
                + _bought_together("ms")
                + _SIGN_OFF_MANAGER["ms"]
                + "\n<p>Terima kasih kerana membeli-belah dengan kami!</p>\n"
                + _PREFERENCES["ms"],
            },
            "ca": {
                "subject": "Gràcies per la vostra comanda {{ order.number }}",
                "html": "<p>Hola, {{ customer.first_name }}:</p>\n"
                "<p>Gràcies per la vostra comanda {{ order.number }} del {{ order.date|date }}. L'hem rebuda i ja "
                "l'estem preparant.</p>\n<p>Import total: <strong>{{ order.total }}</strong></p>\n"
                + _bought_together("ca")
                + _SIGN_OFF_MANAGER["ca"]
                + "\n<p>Gràcies per confiar en nosaltres!</p>\n"
                + _PREFERENCES["ca"],
            },
        },
    },
    {
        "key": "first-purchase-welcome",
        "name": gettext_noop("Welcome after the first purchase"),
        "channel": "email",
        "purpose": "promotional",
        "topic": "news",
        "contents": {
            "en": {
                "subject": "Welcome, {{ customer.first_name }}!",
                "html": "<p>Hi {{ customer.first_name }},</p>\n"
                "<p>Welcome, and thank you for your first order with us. We hope you enjoy it.</p>\n"
                "<p>Here is what you can expect from us: news about new products, tips to get the most out of "
                "what you bought, and now and then an offer just for our customers.</p>\n"
                + _recommended("en")
                + "\n"
                + _SIGN_OFF_MANAGER["en"],
            },
            "id": {
                "subject": "Selamat datang, {{ customer.first_name }}!",
                "html": "<p>Halo {{ customer.first_name }},</p>\n"
                "<p>Selamat datang, dan terima kasih atas pesanan pertama Anda. Semoga Anda puas.</p>\n"
                "<p>Dari kami, Anda akan menerima kabar tentang produk baru, tips agar pembelian Anda makin "
                "bermanfaat, dan sesekali penawaran khusus untuk pelanggan kami.</p>\n"
                + _recommended("id")
                + "\n"
                + _SIGN_OFF_MANAGER["id"],
            },
            "ms": {
                "subject": "Selamat datang, {{ customer.first_name }}!",
                "html": "<p>Hai {{ customer.first_name }},</p>\n"
                "<p>Selamat datang, dan terima kasih atas pesanan pertama anda bersama kami. Kami harap anda "
                "menyukainya.</p>\n"
                "<p>Daripada kami, anda akan menerima berita tentang produk baharu, petua untuk memanfaatkan "
                "pembelian anda sepenuhnya, dan sekali-sekala tawaran khas untuk pelanggan kami.</p>\n"
                + _recommended("ms")
                + "\n"
                + _SIGN_OFF_MANAGER["ms"],
            },
            "ca": {
                "subject": "Benvinguda, {{ customer.first_name }}!",
                "html": "<p>Hola, {{ customer.first_name }}:</p>\n"
                "<p>Us donem la benvinguda i us agraïm la vostra primera comanda. Esperem que us agradi.</p>\n"
                "<p>De tant en tant rebreu notícies dels productes nous, consells per treure el màxim profit del "
                "que heu comprat i alguna oferta pensada només per als nostres clients.</p>\n"
                + _recommended("ca")
                + "\n"
                + _SIGN_OFF_MANAGER["ca"],
            },
        },
    },
    {
        "key": "check-in",
        "name": gettext_noop("Check-in between purchases"),
        "channel": "email",
        "purpose": "promotional",
        "topic": "check-ins",
        "contents": {
            "en": {
                "subject": "How is everything going, {{ customer.first_name }}?",
                "html": "<p>Hi {{ customer.first_name }},</p>\n"
                "<p>{% if metrics.last_purchase %}It has been a while since your last order on "
                "{{ metrics.last_purchase|date }}. {% endif %}We wanted to ask how everything is going. Is there "
                "anything we can help you with?</p>\n"
                "<p>Just reply to this email: a real person reads every answer.</p>\n" + _SIGN_OFF_MANAGER["en"],
            },
            "id": {
                "subject": "Apa kabar, {{ customer.first_name }}?",
                "html": "<p>Halo {{ customer.first_name }},</p>\n"
                "<p>{% if metrics.last_purchase %}Sudah cukup lama sejak pesanan terakhir Anda pada "
                "{{ metrics.last_purchase|date }}. {% endif %}Kami ingin menanyakan kabar Anda. Adakah yang bisa "
                "kami bantu?</p>\n"
                "<p>Cukup balas email ini: setiap jawaban dibaca langsung oleh tim kami.</p>\n"
                + _SIGN_OFF_MANAGER["id"],
            },
            "ms": {
                "subject": "Apa khabar, {{ customer.first_name }}?",
                "html": "<p>Hai {{ customer.first_name }},</p>\n"
                "<p>{% if metrics.last_purchase %}Sudah agak lama sejak pesanan terakhir anda pada "
                "{{ metrics.last_purchase|date }}. {% endif %}Kami ingin bertanya khabar anda. Adakah apa-apa "
                "yang boleh kami bantu?</p>\n"
                "<p>Balas sahaja e-mel ini: setiap jawapan dibaca sendiri oleh pasukan kami.</p>\n"
                + _SIGN_OFF_MANAGER["ms"],
            },
            "ca": {
                "subject": "Com va tot, {{ customer.first_name }}?",
                "html": "<p>Hola, {{ customer.first_name }}:</p>\n"
                "<p>{% if metrics.last_purchase %}Fa un temps de la vostra última comanda, el "
                "{{ metrics.last_purchase|date }}. {% endif %}Volíem saber com us va tot. Hi ha alguna cosa en "
                "què us puguem ajudar?</p>\n"
                "<p>Només cal que respongueu aquest correu: una persona de l'equip llegeix totes les respostes.</p>\n"
                + _SIGN_OFF_MANAGER["ca"],
            },
        },
    },
    {
        "key": "win-back-offer",
        "name": gettext_noop("Win-back offer"),
        "channel": "email",
        "purpose": "promotional",
        "topic": "offers",
        "contents": {
            "en": {
                "subject": "We miss you, {{ customer.first_name }}: 15% off your next order",
                "html": "<p>Hi {{ customer.first_name }},</p>\n"
                "<p>We have not seen you for a while and we miss you. To welcome you back, here is "
                "<strong>15% off</strong> your next order with the code <strong>WELCOMEBACK</strong>, valid for "
                "30 days.</p>\n" + _recommended("en") + "\n" + _SIGN_OFF_MANAGER["en"],
            },
            "id": {
                "subject": "Kami rindu Anda, {{ customer.first_name }}: diskon 15% untuk pesanan berikutnya",
                "html": "<p>Halo {{ customer.first_name }},</p>\n"
                "<p>Sudah lama Anda tidak berbelanja, dan kami merindukan Anda. Sebagai sambutan, nikmati "
                "<strong>diskon 15%</strong> untuk pesanan berikutnya dengan kode <strong>WELCOMEBACK</strong>, "
                "berlaku 30 hari.</p>\n" + _recommended("id") + "\n" + _SIGN_OFF_MANAGER["id"],
            },
            "ms": {
                "subject": "Kami rindukan anda, {{ customer.first_name }}: diskaun 15% untuk pesanan seterusnya",
                "html": "<p>Hai {{ customer.first_name }},</p>\n"
                "<p>Sudah lama kami tidak berjumpa anda, dan kami rindukan anda. Sebagai tanda selamat kembali, "
                "nikmati <strong>diskaun 15%</strong> untuk pesanan seterusnya dengan kod "
                "<strong>WELCOMEBACK</strong>, sah selama 30 hari.</p>\n"
                + _recommended("ms")
                + "\n"
                + _SIGN_OFF_MANAGER["ms"],
            },
            "ca": {
                "subject": "Us trobem a faltar, {{ customer.first_name }}: un 15% de descompte en la propera comanda",
                "html": "<p>Hola, {{ customer.first_name }}:</p>\n"
                "<p>Fa temps que no us veiem i us trobem a faltar. Per donar-vos la benvinguda de nou, teniu "
                "<strong>un 15% de descompte</strong> en la propera comanda amb el codi "
                "<strong>WELCOMEBACK</strong>, vàlid durant 30 dies.</p>\n"
                + _recommended("ca")
                + "\n"
                + _SIGN_OFF_MANAGER["ca"],
            },
        },
    },
]


def ready_made_name(key: str, name: str) -> str:
    """A template's name in the reader's language while it is the ready-made one (the English name is
    what the database holds); a name a marketer gave is shown as they wrote it."""
    for spec in READY_MADE:
        if spec["key"] == key:
            return gettext(name) if spec["name"] == name else name
    return name


def ready_made_install(template_model, content_model, specs=READY_MADE) -> int:
    """Create the ready-made templates that do not exist yet (by key); returns how many. ``specs``:
    messaging's own by default; the plans install theirs with it too."""
    created = 0
    for spec in specs:
        template, new = template_model.objects.get_or_create(
            key=spec["key"],
            defaults={
                "name": spec["name"],
                "channel": spec["channel"],
                "purpose": spec["purpose"],
                "topic": spec["topic"],
                "fallback_language": "en",
                "is_active": True,
            },
        )
        if not new:
            continue
        created += 1
        for language, parts in spec["contents"].items():
            content_model.objects.create(
                template=template,
                language=language,
                subject=parts["subject"],
                html=parts["html"],
                text=parts.get("text", ""),
            )
    return created
