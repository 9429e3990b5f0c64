"""The ready-made templates as they now stand (contact_plans.messaging.ready_made): the order thank-you
offers the products often bought with the order, and a recommended product without a page of its own
is shown by name rather than as an empty link. Only a template whose text is still the one 0006
installed is changed; one a marketer edited is left as they wrote it."""

from django.db import migrations

# (as 0006 installed it, as it is now) by template key and language; frozen here, so that later
# changes of ready_made.py do not change what this migration does.
CHANGES = {
    "first-purchase-welcome": {
        "ca": (
            "<p>Hola, {{ customer.first_name }}:</p>\n"
            "<p>Us donem la benvinguda i us agraïm la vostra primera comanda. Esperem que "
            "us agradi.</p>\n"
            "<p>De tant en tant rebreu notícies dels productes nous, consells per treure el "
            "màxim profit del que heu comprat i alguna oferta pensada només per als nostres "
            "clients.</p>\n"
            "{% if recommended_products %}<h2>També us pot agradar</h2><ul>{% for product "
            'in recommended_products %}<li><a href="{{ product.url }}">{{ product.name '
            "}}</a> {{ product.price }}</li>{% endfor %}</ul>{% endif %}\n"
            "{% if account_manager.email %}<p>Teniu cap pregunta? {{ "
            'account_manager.first_name }} us hi ajudarà de gust: <a href="mailto:{{ '
            'account_manager.email }}">{{ account_manager.email }}</a>.</p>{% endif %}',
            "<p>Hola, {{ customer.first_name }}:</p>\n"
            "<p>Us donem la benvinguda i us agraïm la vostra primera comanda. Esperem que "
            "us agradi.</p>\n"
            "<p>De tant en tant rebreu notícies dels productes nous, consells per treure el "
            "màxim profit del que heu comprat i alguna oferta pensada només per als nostres "
            "clients.</p>\n"
            "{% if recommended_products %}<h2>També us pot agradar</h2><ul>{% for product "
            'in recommended_products %}<li>{% if product.url %}<a href="{{ product.url '
            '}}">{{ product.name }}</a>{% else %}{{ product.name }}{% endif %} {{ '
            "product.price }}</li>{% endfor %}</ul>{% endif %}\n"
            "{% if account_manager.email %}<p>Teniu cap pregunta? {{ "
            'account_manager.first_name }} us hi ajudarà de gust: <a href="mailto:{{ '
            'account_manager.email }}">{{ account_manager.email }}</a>.</p>{% endif %}',
        ),
        "en": (
            "<p>Hi {{ customer.first_name }},</p>\n"
            "<p>Welcome, and thank you for your first order with us. We hope you enjoy "
            "it.</p>\n"
            "<p>Here is what you can expect from us: news about new products, tips to get "
            "the most out of what you bought, and now and then an offer just for our "
            "customers.</p>\n"
            "{% if recommended_products %}<h2>You may also like</h2><ul>{% for product in "
            'recommended_products %}<li><a href="{{ product.url }}">{{ product.name }}</a> '
            "{{ product.price }}</li>{% endfor %}</ul>{% endif %}\n"
            "{% if account_manager.email %}<p>Any questions? {{ account_manager.first_name "
            '}} is happy to help: <a href="mailto:{{ account_manager.email }}">{{ '
            "account_manager.email }}</a>.</p>{% endif %}",
            "<p>Hi {{ customer.first_name }},</p>\n"
            "<p>Welcome, and thank you for your first order with us. We hope you enjoy "
            "it.</p>\n"
            "<p>Here is what you can expect from us: news about new products, tips to get "
            "the most out of what you bought, and now and then an offer just for our "
            "customers.</p>\n"
            "{% if recommended_products %}<h2>You may also like</h2><ul>{% for product in "
            'recommended_products %}<li>{% if product.url %}<a href="{{ product.url }}">{{ '
            "product.name }}</a>{% else %}{{ product.name }}{% endif %} {{ product.price "
            "}}</li>{% endfor %}</ul>{% endif %}\n"
            "{% if account_manager.email %}<p>Any questions? {{ account_manager.first_name "
            '}} is happy to help: <a href="mailto:{{ account_manager.email }}">{{ '
            "account_manager.email }}</a>.</p>{% endif %}",
        ),
        "id": (
            "<p>Halo {{ customer.first_name }},</p>\n"
            "<p>Selamat datang, dan terima kasih atas pesanan pertama Anda. Semoga Anda "
            "puas.</p>\n"
            "<p>Dari kami, Anda akan menerima kabar tentang produk baru, tips agar "
            "pembelian Anda makin bermanfaat, dan sesekali penawaran khusus untuk pelanggan "
            "kami.</p>\n"
            "{% if recommended_products %}<h2>Mungkin Anda juga suka</h2><ul>{% for product "
            'in recommended_products %}<li><a href="{{ product.url }}">{{ product.name '
            "}}</a> {{ product.price }}</li>{% endfor %}</ul>{% endif %}\n"
            "{% if account_manager.email %}<p>Ada pertanyaan? {{ account_manager.first_name "
            '}} siap membantu: <a href="mailto:{{ account_manager.email }}">{{ '
            "account_manager.email }}</a>.</p>{% endif %}",
            "<p>Halo {{ customer.first_name }},</p>\n"
            "<p>Selamat datang, dan terima kasih atas pesanan pertama Anda. Semoga Anda "
            "puas.</p>\n"
            "<p>Dari kami, Anda akan menerima kabar tentang produk baru, tips agar "
            "pembelian Anda makin bermanfaat, dan sesekali penawaran khusus untuk pelanggan "
            "kami.</p>\n"
            "{% if recommended_products %}<h2>Mungkin Anda juga suka</h2><ul>{% for product "
            'in recommended_products %}<li>{% if product.url %}<a href="{{ product.url '
            '}}">{{ product.name }}</a>{% else %}{{ product.name }}{% endif %} {{ '
            "product.price }}</li>{% endfor %}</ul>{% endif %}\n"
            "{% if account_manager.email %}<p>Ada pertanyaan? {{ account_manager.first_name "
            '}} siap membantu: <a href="mailto:{{ account_manager.email }}">{{ '
            "account_manager.email }}</a>.</p>{% endif %}",
        ),
        "ms": (
            "<p>Hai {{ customer.first_name }},</p>\n"
            "<p>Selamat datang, dan terima kasih atas pesanan pertama anda bersama kami. "
            "Kami harap anda menyukainya.</p>\n"
            "<p>Daripada kami, anda akan menerima berita tentang produk baharu, petua untuk "
            "memanfaatkan pembelian anda sepenuhnya, dan sekali-sekala tawaran khas untuk "
            "pelanggan kami.</p>\n"
            "{% if recommended_products %}<h2>Anda mungkin juga suka</h2><ul>{% for product "
            'in recommended_products %}<li><a href="{{ product.url }}">{{ product.name '
            "}}</a> {{ product.price }}</li>{% endfor %}</ul>{% endif %}\n"
            "{% if account_manager.email %}<p>Ada sebarang soalan? {{ "
            'account_manager.first_name }} sedia membantu: <a href="mailto:{{ '
            'account_manager.email }}">{{ account_manager.email }}</a>.</p>{% endif %}',
            "<p>Hai {{ customer.first_name }},</p>\n"
            "<p>Selamat datang, dan terima kasih atas pesanan pertama anda bersama kami. "
            "Kami harap anda menyukainya.</p>\n"
            "<p>Daripada kami, anda akan menerima berita tentang produk baharu, petua untuk "
            "memanfaatkan pembelian anda sepenuhnya, dan sekali-sekala tawaran khas untuk "
            "pelanggan kami.</p>\n"
            "{% if recommended_products %}<h2>Anda mungkin juga suka</h2><ul>{% for product "
            'in recommended_products %}<li>{% if product.url %}<a href="{{ product.url '
            '}}">{{ product.name }}</a>{% else %}{{ product.name }}{% endif %} {{ '
            "product.price }}</li>{% endfor %}</ul>{% endif %}\n"
            "{% if account_manager.email %}<p>Ada sebarang soalan? {{ "
            'account_manager.first_name }} sedia membantu: <a href="mailto:{{ '
            'account_manager.email }}">{{ account_manager.email }}</a>.</p>{% endif %}',
        ),
    },
    "order-thank-you": {
        "ca": (
            "<p>Hola, {{ customer.first_name }}:</p>\n"
            "<p>Gràcies per la vostra comanda {{ order.number }} del {{ order.date|date }}. L'hem "
            "rebuda i ja l'estem preparant.</p>\n"
            "<p>Import total: <strong>{{ order.total }}</strong></p>\n"
            "{% if account_manager.email %}<p>Teniu cap pregunta? {{ account_manager.first_name }} "
            'us hi ajudarà de gust: <a href="mailto:{{ account_manager.email }}">{{ '
            "account_manager.email }}</a>.</p>{% endif %}\n"
            "<p>Gràcies per confiar en nosaltres!</p>\n"
            '<p style="font-size:12px;color:#6c757d">Notícies i ofertes per correu: <a href="{{ '
            'preferences_url }}">trieu què voleu rebre</a> o <a href="{{ unsubscribe_url '
            '}}">doneu-vos de baixa</a>.</p>',
            "<p>Hola, {{ customer.first_name }}:</p>\n"
            "<p>Gràcies per la vostra comanda {{ order.number }} del {{ order.date|date }}. L'hem "
            "rebuda i ja l'estem preparant.</p>\n"
            "<p>Import total: <strong>{{ order.total }}</strong></p>\n"
            "{% if recommended_products %}<h2>Sovint es compren amb la vostra comanda</h2>\n"
            "<p>Com a agraïment, <strong>un 10% de descompte</strong> en qualsevol d'aquests "
            "productes amb el codi <strong>THANKYOU10</strong>, durant 30 dies:</p><ul>{% for "
            'product in recommended_products %}<li>{% if product.url %}<a href="{{ product.url '
            '}}">{{ product.name }}</a>{% else %}{{ product.name }}{% endif %} {{ product.price '
            "}}</li>{% endfor %}</ul>{% endif %}\n"
            "{% if account_manager.email %}<p>Teniu cap pregunta? {{ account_manager.first_name }} "
            'us hi ajudarà de gust: <a href="mailto:{{ account_manager.email }}">{{ '
            "account_manager.email }}</a>.</p>{% endif %}\n"
            "<p>Gràcies per confiar en nosaltres!</p>\n"
            '<p style="font-size:12px;color:#6c757d">Notícies i ofertes per correu: <a href="{{ '
            'preferences_url }}">trieu què voleu rebre</a> o <a href="{{ unsubscribe_url '
            '}}">doneu-vos de baixa</a>.</p>',
        ),
        "en": (
            "<p>Hi {{ customer.first_name }},</p>\n"
            "<p>Thank you for your order {{ order.number }} of {{ order.date|date }}. We have "
            "received it and are preparing it now.</p>\n"
            "<p>Order total: <strong>{{ order.total }}</strong></p>\n"
            "{% if account_manager.email %}<p>Any questions? {{ account_manager.first_name }} is "
            'happy to help: <a href="mailto:{{ account_manager.email }}">{{ account_manager.email '
            "}}</a>.</p>{% endif %}\n"
            "<p>Thank you for shopping with us!</p>\n"
            '<p style="font-size:12px;color:#6c757d">News and offers by email: <a href="{{ '
            'preferences_url }}">choose what you receive</a> or <a href="{{ unsubscribe_url '
            '}}">unsubscribe</a>.</p>',
            "<p>Hi {{ customer.first_name }},</p>\n"
            "<p>Thank you for your order {{ order.number }} of {{ order.date|date }}. We have "
            "received it and are preparing it now.</p>\n"
            "<p>Order total: <strong>{{ order.total }}</strong></p>\n"
            "{% if recommended_products %}<h2>Often bought with your order</h2>\n"
            "<p>As a thank-you, <strong>10% off</strong> any of these with the code "
            "<strong>THANKYOU10</strong>, for 30 days:</p><ul>{% for product in "
            'recommended_products %}<li>{% if product.url %}<a href="{{ product.url }}">{{ '
            "product.name }}</a>{% else %}{{ product.name }}{% endif %} {{ product.price }}</li>{% "
            "endfor %}</ul>{% endif %}\n"
            "{% if account_manager.email %}<p>Any questions? {{ account_manager.first_name }} is "
            'happy to help: <a href="mailto:{{ account_manager.email }}">{{ account_manager.email '
            "}}</a>.</p>{% endif %}\n"
            "<p>Thank you for shopping with us!</p>\n"
            '<p style="font-size:12px;color:#6c757d">News and offers by email: <a href="{{ '
            'preferences_url }}">choose what you receive</a> or <a href="{{ unsubscribe_url '
            '}}">unsubscribe</a>.</p>',
        ),
        "id": (
            "<p>Halo {{ customer.first_name }},</p>\n"
            "<p>Terima kasih atas pesanan Anda {{ order.number }} tanggal {{ order.date|date }}. "
            "Pesanan sudah kami terima dan sedang kami siapkan.</p>\n"
            "<p>Total pesanan: <strong>{{ order.total }}</strong></p>\n"
            "{% if account_manager.email %}<p>Ada pertanyaan? {{ account_manager.first_name }} "
            'siap membantu: <a href="mailto:{{ account_manager.email }}">{{ account_manager.email '
            "}}</a>.</p>{% endif %}\n"
            "<p>Terima kasih telah berbelanja bersama kami!</p>\n"
            '<p style="font-size:12px;color:#6c757d">Kabar dan penawaran lewat email: <a href="{{ '
            'preferences_url }}">pilih apa yang Anda terima</a> atau <a href="{{ unsubscribe_url '
            '}}">berhenti berlangganan</a>.</p>',
            "<p>Halo {{ customer.first_name }},</p>\n"
            "<p>Terima kasih atas pesanan Anda {{ order.number }} tanggal {{ order.date|date }}. "
            "Pesanan sudah kami terima dan sedang kami siapkan.</p>\n"
            "<p>Total pesanan: <strong>{{ order.total }}</strong></p>\n"
            "{% if recommended_products %}<h2>Sering dibeli bersama pesanan Anda</h2>\n"
            "<p>Sebagai tanda terima kasih, <strong>diskon 10%</strong> untuk produk berikut "
            "dengan kode <strong>THANKYOU10</strong>, berlaku 30 hari:</p><ul>{% for product in "
            'recommended_products %}<li>{% if product.url %}<a href="{{ product.url }}">{{ '
            "product.name }}</a>{% else %}{{ product.name }}{% endif %} {{ product.price }}</li>{% "
            "endfor %}</ul>{% endif %}\n"
            "{% if account_manager.email %}<p>Ada pertanyaan? {{ account_manager.first_name }} "
            'siap membantu: <a href="mailto:{{ account_manager.email }}">{{ account_manager.email '
            "}}</a>.</p>{% endif %}\n"
            "<p>Terima kasih telah berbelanja bersama kami!</p>\n"
            '<p style="font-size:12px;color:#6c757d">Kabar dan penawaran lewat email: <a href="{{ '
            'preferences_url }}">pilih apa yang Anda terima</a> atau <a href="{{ unsubscribe_url '
            '}}">berhenti berlangganan</a>.</p>',
        ),
        "ms": (
            "<p>Hai {{ customer.first_name }},</p>\n"
            "<p>Terima kasih atas pesanan anda {{ order.number }} bertarikh {{ order.date|date }}. "
            "Kami telah menerimanya dan sedang menyediakannya sekarang.</p>\n"
            "<p>Jumlah pesanan: <strong>{{ order.total }}</strong></p>\n"
            "{% if account_manager.email %}<p>Ada sebarang soalan? {{ account_manager.first_name "
            '}} sedia membantu: <a href="mailto:{{ account_manager.email }}">{{ '
            "account_manager.email }}</a>.</p>{% endif %}\n"
            "<p>Terima kasih kerana membeli-belah dengan kami!</p>\n"
            '<p style="font-size:12px;color:#6c757d">Berita dan tawaran melalui e-mel: <a href="{{ '
            'preferences_url }}">pilih apa yang anda terima</a> atau <a href="{{ unsubscribe_url '
            '}}">berhenti langgan</a>.</p>',
            "<p>Hai {{ customer.first_name }},</p>\n"
            "<p>Terima kasih atas pesanan anda {{ order.number }} bertarikh {{ order.date|date }}. "
            "Kami telah menerimanya dan sedang menyediakannya sekarang.</p>\n"
            "<p>Jumlah pesanan: <strong>{{ order.total }}</strong></p>\n"
            "{% if recommended_products %}<h2>Sering dibeli bersama pesanan anda</h2>\n"
            "<p>Sebagai tanda terima kasih, <strong>diskaun 10%</strong> untuk mana-mana produk "
            "ini dengan kod <strong>THANKYOU10</strong>, sah selama 30 hari:</p><ul>{% for product "
            'in recommended_products %}<li>{% if product.url %}<a href="{{ product.url }}">{{ '
            "product.name }}</a>{% else %}{{ product.name }}{% endif %} {{ product.price }}</li>{% "
            "endfor %}</ul>{% endif %}\n"
            "{% if account_manager.email %}<p>Ada sebarang soalan? {{ account_manager.first_name "
            '}} sedia membantu: <a href="mailto:{{ account_manager.email }}">{{ '
            "account_manager.email }}</a>.</p>{% endif %}\n"
            "<p>Terima kasih kerana membeli-belah dengan kami!</p>\n"
            '<p style="font-size:12px;color:#6c757d">Berita dan tawaran melalui e-mel: <a href="{{ '
            'preferences_url }}">pilih apa yang anda terima</a> atau <a href="{{ unsubscribe_url '
            '}}">berhenti langgan</a>.</p>',
        ),
    },
    "win-back-offer": {
        "ca": (
            "<p>Hola, {{ customer.first_name }}:</p>\n"
            "<p>Fa temps que no us veiem i us trobem a faltar. Per donar-vos la benvinguda de nou, "
            "teniu <strong>un 15% de descompte</strong> en la propera comanda amb el codi "
            "<strong>WELCOMEBACK</strong>, vàlid durant 30 dies.</p>\n"
            "{% if recommended_products %}<h2>També us pot agradar</h2><ul>{% for product in "
            'recommended_products %}<li><a href="{{ product.url }}">{{ product.name }}</a> {{ '
            "product.price }}</li>{% endfor %}</ul>{% endif %}\n"
            "{% if account_manager.email %}<p>Teniu cap pregunta? {{ account_manager.first_name }} "
            'us hi ajudarà de gust: <a href="mailto:{{ account_manager.email }}">{{ '
            "account_manager.email }}</a>.</p>{% endif %}",
            "<p>Hola, {{ customer.first_name }}:</p>\n"
            "<p>Fa temps que no us veiem i us trobem a faltar. Per donar-vos la benvinguda de nou, "
            "teniu <strong>un 15% de descompte</strong> en la propera comanda amb el codi "
            "<strong>WELCOMEBACK</strong>, vàlid durant 30 dies.</p>\n"
            "{% if recommended_products %}<h2>També us pot agradar</h2><ul>{% for product in "
            'recommended_products %}<li>{% if product.url %}<a href="{{ product.url }}">{{ '
            "product.name }}</a>{% else %}{{ product.name }}{% endif %} {{ product.price }}</li>{% "
            "endfor %}</ul>{% endif %}\n"
            "{% if account_manager.email %}<p>Teniu cap pregunta? {{ account_manager.first_name }} "
            'us hi ajudarà de gust: <a href="mailto:{{ account_manager.email }}">{{ '
            "account_manager.email }}</a>.</p>{% endif %}",
        ),
        "en": (
            "<p>Hi {{ customer.first_name }},</p>\n"
            "<p>We have not seen you for a while and we miss you. To welcome you back, here is "
            "<strong>15% off</strong> your next order with the code <strong>WELCOMEBACK</strong>, "
            "valid for 30 days.</p>\n"
            "{% if recommended_products %}<h2>You may also like</h2><ul>{% for product in "
            'recommended_products %}<li><a href="{{ product.url }}">{{ product.name }}</a> {{ '
            "product.price }}</li>{% endfor %}</ul>{% endif %}\n"
            "{% if account_manager.email %}<p>Any questions? {{ account_manager.first_name }} is "
            'happy to help: <a href="mailto:{{ account_manager.email }}">{{ account_manager.email '
            "}}</a>.</p>{% endif %}",
            "<p>Hi {{ customer.first_name }},</p>\n"
            "<p>We have not seen you for a while and we miss you. To welcome you back, here is "
            "<strong>15% off</strong> your next order with the code <strong>WELCOMEBACK</strong>, "
            "valid for 30 days.</p>\n"
            "{% if recommended_products %}<h2>You may also like</h2><ul>{% for product in "
            'recommended_products %}<li>{% if product.url %}<a href="{{ product.url }}">{{ '
            "product.name }}</a>{% else %}{{ product.name }}{% endif %} {{ product.price }}</li>{% "
            "endfor %}</ul>{% endif %}\n"
            "{% if account_manager.email %}<p>Any questions? {{ account_manager.first_name }} is "
            'happy to help: <a href="mailto:{{ account_manager.email }}">{{ account_manager.email '
            "}}</a>.</p>{% endif %}",
        ),
        "id": (
            "<p>Halo {{ customer.first_name }},</p>\n"
            "<p>Sudah lama Anda tidak berbelanja, dan kami merindukan Anda. Sebagai sambutan, "
            "nikmati <strong>diskon 15%</strong> untuk pesanan berikutnya dengan kode "
            "<strong>WELCOMEBACK</strong>, berlaku 30 hari.</p>\n"
            "{% if recommended_products %}<h2>Mungkin Anda juga suka</h2><ul>{% for product in "
            'recommended_products %}<li><a href="{{ product.url }}">{{ product.name }}</a> {{ '
            "product.price }}</li>{% endfor %}</ul>{% endif %}\n"
            "{% if account_manager.email %}<p>Ada pertanyaan? {{ account_manager.first_name }} siap "
            'membantu: <a href="mailto:{{ account_manager.email }}">{{ account_manager.email '
            "}}</a>.</p>{% endif %}",
            "<p>Halo {{ customer.first_name }},</p>\n"
            "<p>Sudah lama Anda tidak berbelanja, dan kami merindukan Anda. Sebagai sambutan, "
            "nikmati <strong>diskon 15%</strong> untuk pesanan berikutnya dengan kode "
            "<strong>WELCOMEBACK</strong>, berlaku 30 hari.</p>\n"
            "{% if recommended_products %}<h2>Mungkin Anda juga suka</h2><ul>{% for product in "
            'recommended_products %}<li>{% if product.url %}<a href="{{ product.url }}">{{ '
            "product.name }}</a>{% else %}{{ product.name }}{% endif %} {{ product.price }}</li>{% "
            "endfor %}</ul>{% endif %}\n"
            "{% if account_manager.email %}<p>Ada pertanyaan? {{ account_manager.first_name }} siap "
            'membantu: <a href="mailto:{{ account_manager.email }}">{{ account_manager.email '
            "}}</a>.</p>{% endif %}",
        ),
        "ms": (
            "<p>Hai {{ customer.first_name }},</p>\n"
            "<p>Sudah lama kami tidak berjumpa anda, dan kami rindukan anda. Sebagai tanda selamat "
            "kembali, nikmati <strong>diskaun 15%</strong> untuk pesanan seterusnya dengan kod "
            "<strong>WELCOMEBACK</strong>, sah selama 30 hari.</p>\n"
            "{% if recommended_products %}<h2>Anda mungkin juga suka</h2><ul>{% for product in "
            'recommended_products %}<li><a href="{{ product.url }}">{{ product.name }}</a> {{ '
            "product.price }}</li>{% endfor %}</ul>{% endif %}\n"
            "{% if account_manager.email %}<p>Ada sebarang soalan? {{ account_manager.first_name }} "
            'sedia membantu: <a href="mailto:{{ account_manager.email }}">{{ account_manager.email '
            "}}</a>.</p>{% endif %}",
            "<p>Hai {{ customer.first_name }},</p>\n"
            "<p>Sudah lama kami tidak berjumpa anda, dan kami rindukan anda. Sebagai tanda selamat "
            "kembali, nikmati <strong>diskaun 15%</strong> untuk pesanan seterusnya dengan kod "
            "<strong>WELCOMEBACK</strong>, sah selama 30 hari.</p>\n"
            "{% if recommended_products %}<h2>Anda mungkin juga suka</h2><ul>{% for product in "
            'recommended_products %}<li>{% if product.url %}<a href="{{ product.url }}">{{ '
            "product.name }}</a>{% else %}{{ product.name }}{% endif %} {{ product.price }}</li>{% "
            "endfor %}</ul>{% endif %}\n"
            "{% if account_manager.email %}<p>Ada sebarang soalan? {{ account_manager.first_name }} "
            'sedia membantu: <a href="mailto:{{ account_manager.email }}">{{ account_manager.email '
            "}}</a>.</p>{% endif %}",
        ),
    },
}


def _apply(apps, *, forward: bool) -> None:
    content_model = apps.get_model("contact_plans", "MessageTemplateContent")
    for key, languages in CHANGES.items():
        for language, (before, after) in languages.items():
            was, becomes = (before, after) if forward else (after, before)
            content_model.objects.filter(template__key=key, language=language, html=was).update(html=becomes)


def forwards(apps, schema_editor):
    _apply(apps, forward=True)


def backwards(apps, schema_editor):
    _apply(apps, forward=False)


class Migration(migrations.Migration):
    dependencies = [("contact_plans", "0007_message_prepared_mime")]

    operations = [migrations.RunPython(forwards, backwards)]
