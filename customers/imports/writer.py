"""Set-based upserts from staging tables: no Python loop over rows, one query per step.

Clean rows are first loaded into temporary staging tables (PostgreSQL ``COPY``; elsewhere
``executemany``). Checks that need the whole file or the database (duplicate ids, unknown
customers, orders whose lines disagree, another manager's book) are queries over the staging
tables that write row errors and drop the bad rows. The merge then runs in one transaction:
``UPDATE ... FROM staging WHERE something differs`` for existing rows, ``INSERT ... WHERE NOT
EXISTS`` for new ones, so a second import of the same file changes nothing.

The SQL is shared by PostgreSQL and SQLite (3.39+: ``UPDATE ... FROM`` and ``IS DISTINCT FROM``);
the few differences (casts, bulk load) are in ``Dialect``.
"""

import csv
import io
import logging
import time
from dataclasses import dataclass

import pandas as pd
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import order_rules
from ..models import ImportJob
from ..rollups import customer_rollups_defer_sql
from .formats import RowError

logger = logging.getLogger(__name__)

# Errors beyond this many per job are counted but not stored: a report of 50,000 lines already
# says "the file is wrong", and storing millions of rows for a wrong file helps nobody.
MAX_STORED_ERRORS = 50_000

LINE_COLUMNS = (
    "line", "order_ext", "customer_ext", "ordered_at", "currency", "kind", "status", "refunded_amount", "sku",
    "product_name", "category", "quantity", "unit_price", "amount",
)  # fmt: skip
CUSTOMER_TEXT_COLUMNS = (
    "email", "phone", "company", "country", "language", "time_zone", "acquisition_source", "notes",
)  # fmt: skip
CUSTOMER_COLUMNS = (
    "line", "external_id", "name", *CUSTOMER_TEXT_COLUMNS, "account_manager", "acquired_at", "referred_by",
    "tags", "marketing_consent", "consent_at", "consent_source", "birth_date",
)  # fmt: skip


class Dialect:
    def __init__(self):
        self.postgres = connection.vendor == "postgresql"

    def timestamp(self, expr: str) -> str:
        # SQLite keeps a datetime as Django writes it: UTC, without the offset (formats._as_db_timestamp).
        return f"CAST({expr} AS timestamptz)" if self.postgres else f"replace({expr}, '+00:00', '')"

    def date(self, expr: str) -> str:
        return f"CAST({expr} AS date)" if self.postgres else expr

    def date_of(self, timestamp_expr: str) -> str:
        return f"CAST(({timestamp_expr}) AT TIME ZONE 'UTC' AS date)" if self.postgres else f"date({timestamp_expr})"

    def money_sum(self, expr: str) -> str:
        # SQLite sums NUMERIC columns as floats: 62.00 + 41.98 is 103.97999999999999, which would
        # differ from the stored 103.98 and make an unchanged order look updated.
        return f"sum({expr})" if self.postgres else f"round(sum({expr}), 2)"

    @property
    def ts_type(self) -> str:
        return "timestamptz" if self.postgres else "text"


@dataclass
class MergeCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    customers_created: int = 0


class Staging:
    """The staging tables of one import job, on the current database connection."""

    def __init__(self, job: ImportJob, *, importer_manager_id: int | None):
        self.job = job
        self.dialect = Dialect()
        self.job_db_id = ImportJob._meta.pk.get_db_prep_value(job.id, connection)
        # An account manager imports into their own book only; None for administrators.
        self.manager_id = importer_manager_id
        self.now = connection.ops.adapt_datetimefield_value(timezone.now())
        self.errors_stored = 0
        self.error_count = 0
        self.customer_columns: set[str] = set()

    # --- set-up and loading ----------------------------------------------------------------------

    def create(self) -> None:
        ts = self.dialect.ts_type
        self._drop()
        self._exec(
            f"""CREATE TEMP TABLE imp_lines (line integer, order_ext varchar(64), customer_ext varchar(64),
            ordered_at {ts}, currency varchar(3), kind varchar(10), status varchar(10),
            refunded_amount numeric(14, 2), sku varchar(64),
            product_name varchar(255), category varchar(100), quantity bigint, unit_price numeric(12, 4),
            amount numeric(14, 2))"""
        )
        self._exec(
            """CREATE TEMP TABLE imp_customers (line integer, external_id varchar(64), name varchar(200),
            email varchar(254), phone varchar(40), company varchar(200), country varchar(64), language varchar(8),
            time_zone varchar(64), acquisition_source varchar(64), notes text, account_manager varchar(150),
            acquired_at varchar(10), referred_by varchar(64), tags text, marketing_consent boolean,
            consent_at varchar(32), consent_source varchar(20), birth_date varchar(10))"""
        )
        self._exec("CREATE TEMP TABLE imp_errors (line integer, col varchar(64), reason varchar(255))")
        self._exec("CREATE TEMP TABLE imp_bad_orders (order_ext varchar(64))")

    def _drop(self) -> None:
        for table in (
            "imp_lines", "imp_customers", "imp_errors", "imp_bad_orders", "imp_orders", "imp_lines_n", "imp_tags",
            "imp_touched", "imp_changed",
        ):  # fmt: skip
            self._exec(f"DROP TABLE IF EXISTS {table}")

    def close(self) -> None:
        self._drop()

    def load_lines(self, lines: pd.DataFrame) -> None:
        self._load("imp_lines", lines, LINE_COLUMNS)

    def load_customers(self, customers: pd.DataFrame) -> None:
        self.customer_columns.update(c for c in customers.columns if c != "line")
        self._load("imp_customers", customers, CUSTOMER_COLUMNS)

    def add_bad_orders(self, order_exts: set[str]) -> None:
        if order_exts:
            self._load("imp_bad_orders", pd.DataFrame({"order_ext": sorted(order_exts)}), ("order_ext",))

    def _load(self, table: str, frame: pd.DataFrame, columns: tuple[str, ...]) -> None:
        if frame is None or frame.empty:
            return
        started = time.perf_counter()
        present = [c for c in columns if c in frame.columns]
        data = frame[present]
        with connection.cursor() as cursor:
            if self.dialect.postgres:
                buffer = io.StringIO()
                data.to_csv(buffer, index=False, header=False, quoting=csv.QUOTE_MINIMAL)
                buffer.seek(0)
                raw = cursor.cursor  # psycopg2's own cursor, for COPY
                raw.copy_expert(f"COPY {table} ({', '.join(present)}) FROM STDIN WITH (FORMAT csv)", buffer)
            else:
                if "ordered_at" in data.columns:
                    data = data.assign(ordered_at=data["ordered_at"].str.removesuffix("+00:00"))
                placeholders = ", ".join(["%s"] * len(present))
                rows = list(data.itertuples(index=False, name=None))
                cursor.executemany(f"INSERT INTO {table} ({', '.join(present)}) VALUES ({placeholders})", rows)
        logger.debug("imports.load seconds=%.3f table=%s rows=%d", time.perf_counter() - started, table, len(frame))

    def record_errors(self, errors: list[RowError]) -> None:
        """Errors found while reading: stored right away, up to the cap."""
        self.error_count += len(errors)
        room = MAX_STORED_ERRORS - self.errors_stored
        if room <= 0 or not errors:
            return
        keep = errors[:room]
        self._load(
            "imp_errors",
            pd.DataFrame(
                {"line": [e.line for e in keep], "col": [e.column for e in keep], "reason": [e.reason for e in keep]}
            ),
            ("line", "col", "reason"),
        )
        self._flush_errors()

    def _flush_errors(self) -> None:
        room = max(MAX_STORED_ERRORS - self.errors_stored, 0)
        with connection.cursor() as cursor:
            cursor.execute(
                f"""INSERT INTO customers_importrowerror (job_id, line, "column", reason)
                SELECT %s, line, COALESCE(col, ''), substr(reason, 1, 255) FROM imp_errors ORDER BY line LIMIT {room}""",
                [self.job_db_id],
            )
            self.errors_stored += cursor.rowcount
            cursor.execute("DELETE FROM imp_errors")

    def _check(self, table: str, select_sql: str, params: list | None = None) -> int:
        """Run one whole-file check: its rows become errors and leave the staging table."""
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO imp_errors (line, col, reason) {select_sql}", params or [])  # noqa: S608
            found = cursor.rowcount
        if found:
            self.error_count += found
            if table == "imp_lines":
                self._exec(
                    "INSERT INTO imp_bad_orders (order_ext) SELECT DISTINCT order_ext FROM imp_lines "
                    "WHERE line IN (SELECT line FROM imp_errors)"
                )
            self._exec(f"DELETE FROM {table} WHERE line IN (SELECT line FROM imp_errors)")
            self._flush_errors()
        return found

    @staticmethod
    def _rule(template: str, rule: str) -> str:
        """A report message quoting one of order_rules' messages word for word."""
        return template.replace("%(rule)s", str(rule))

    @staticmethod
    def _message(template: str, expr: str) -> str:
        """A translated message with one value from SQL: 'prefix' || expr || 'suffix'."""
        prefix, _sep, suffix = template.partition("%(value)s")
        # Quoted for SQL, and '%' doubled because every check runs with query parameters.
        quote = lambda text: "'" + text.replace("'", "''").replace("%", "%%") + "'"  # noqa: E731
        return f"{quote(prefix)} || {expr} || {quote(suffix)}"

    # --- whole-file checks ----------------------------------------------------------------------------

    def check_customers(self) -> None:
        self._exec("CREATE INDEX imp_customers_ext ON imp_customers (external_id)")
        msg = self._message(
            _("external_id %(value)s appears more than once in the file; the first row is kept"), "d.external_id"
        )
        self._check(
            "imp_customers",
            f"""SELECT d.line, 'external_id', {msg} FROM (
                SELECT line, external_id, row_number() OVER (PARTITION BY external_id ORDER BY line) AS n
                FROM imp_customers) d WHERE d.n > 1""",
        )
        if "account_manager" in self.customer_columns:
            msg = self._message(
                _("account_manager %(value)s is not an account manager's username"), "s.account_manager"
            )
            self._check(
                "imp_customers",
                f"""SELECT s.line, 'account_manager', {msg} FROM imp_customers s
                WHERE COALESCE(s.account_manager, '') <> '' AND NOT EXISTS (
                    SELECT 1 FROM auth_user u JOIN auth_user_groups ug ON ug.user_id = u.id
                    JOIN auth_group g ON g.id = ug.group_id
                    WHERE u.username = s.account_manager AND g.name = 'Account manager' AND u.is_active)""",
            )
        if self.manager_id is not None:
            msg = self._message(_("customer %(value)s belongs to another account manager's book"), "s.external_id")
            self._check(
                "imp_customers",
                f"""SELECT s.line, 'external_id', {msg} FROM imp_customers s JOIN customers_customer c
                ON c.external_id = s.external_id WHERE c.account_manager_id IS DISTINCT FROM %s""",
                [self.manager_id],
            )
            if "account_manager" in self.customer_columns:
                msg = self._message(_("you can only import into your own book, not %(value)s's"), "s.account_manager")
                self._check(
                    "imp_customers",
                    f"""SELECT s.line, 'account_manager', {msg} FROM imp_customers s
                    WHERE COALESCE(s.account_manager, '') <> ''
                    AND s.account_manager <> (SELECT username FROM auth_user WHERE id = %s)""",
                    [self.manager_id],
                )
        if "referred_by" in self.customer_columns:
            msg = self._message(_("referred_by %(value)s is not a known customer"), "s.referred_by")
            # An account manager's referrers are customers of her book (as in the API), so a referrer
            # in another book is unknown to her, in the same words as an id nobody has.
            in_book = "AND c.account_manager_id = %s" if self.manager_id is not None else ""
            self._check(
                "imp_customers",
                f"""SELECT s.line, 'referred_by', {msg} FROM imp_customers s
                WHERE COALESCE(s.referred_by, '') <> ''
                AND NOT EXISTS (SELECT 1 FROM customers_customer c WHERE c.external_id = s.referred_by {in_book})
                AND NOT EXISTS (SELECT 1 FROM imp_customers f WHERE f.external_id = s.referred_by)""",
                [self.manager_id] if self.manager_id is not None else None,
            )

    def check_lines(self, *, customers_from_file: bool) -> None:
        self._exec("CREATE INDEX imp_lines_order ON imp_lines (order_ext)")
        if customers_from_file:
            # New customers take the date of their first order in the file: looked up per customer.
            self._exec("CREATE INDEX imp_lines_customer ON imp_lines (customer_ext)")
            # Formats that carry customers on every line stage each customer once per chunk.
            self._exec(
                "DELETE FROM imp_customers WHERE line NOT IN (SELECT min(line) FROM imp_customers GROUP BY external_id)"
            )
            self._exec("CREATE INDEX imp_customers_ext ON imp_customers (external_id)")
        msg = self._message(
            _("order %(value)s has lines with different customers, currencies, kinds, statuses or refunded amounts"),
            "s.order_ext",
        )
        self._check(
            "imp_lines",
            f"""SELECT s.line, 'order_id', {msg} FROM imp_lines s WHERE s.order_ext IN (
                SELECT order_ext FROM imp_lines GROUP BY order_ext HAVING count(DISTINCT customer_ext) > 1
                OR count(DISTINCT currency) > 1 OR count(DISTINCT kind) > 1
                OR count(DISTINCT status) > 1 OR count(DISTINCT refunded_amount) > 1
                OR count(refunded_amount) NOT IN (0, count(*)))""",
        )
        # order_rules, as for the API: only a purchase that was not cancelled (in the file or as stored)
        # can be refunded. An order the file marks refunded is refunded in full, never beyond its gross.
        msg = self._message(self._rule(_("order %(value)s: %(rule)s"), order_rules.NOT_REFUNDABLE), "s.order_ext")
        self._check(
            "imp_lines",
            f"""SELECT s.line, 'status', {msg} FROM imp_lines s WHERE s.status = 'refunded' AND (s.kind <> 'purchase'
                OR EXISTS (SELECT 1 FROM customers_order o WHERE o.external_id = s.order_ext AND o.status = 'cancelled'))""",
        )
        self._check_refunded_amounts()
        in_file = (
            "OR EXISTS (SELECT 1 FROM imp_customers f WHERE f.external_id = s.customer_ext)"
            if customers_from_file
            else ""
        )
        msg = self._message(_("customer_id %(value)s is not a known customer"), "s.customer_ext")
        self._check(
            "imp_lines",
            f"""SELECT s.line, 'customer_id', {msg} FROM imp_lines s WHERE NOT (
                EXISTS (SELECT 1 FROM customers_customer c WHERE c.external_id = s.customer_ext) {in_file})""",
        )
        if self.manager_id is not None:
            # A customer of another book is, to an account manager, unknown: the same words as for an
            # id nobody has, so that the report does not tell her which ids other books hold.
            self._check(
                "imp_lines",
                f"""SELECT s.line, 'customer_id', {msg} FROM imp_lines s JOIN customers_customer c
                ON c.external_id = s.customer_ext WHERE c.account_manager_id IS DISTINCT FROM %s""",
                [self.manager_id],
            )
            msg = self._message(_("order %(value)s already belongs to a customer outside your book"), "s.order_ext")
            self._check(
                "imp_lines",
                f"""SELECT s.line, 'order_id', {msg} FROM imp_lines s JOIN customers_order o
                ON o.external_id = s.order_ext JOIN customers_customer c ON c.id = o.customer_id
                WHERE c.account_manager_id IS DISTINCT FROM %s""",
                [self.manager_id],
            )
        # Lines of one order may carry times a minute apart (real invoices do); the order takes the
        # earliest. An order is imported whole or not at all: drop the good lines of orders with a bad line.
        msg = self._message(_("order %(value)s is left out because another of its lines has an error"), "s.order_ext")
        self._check(
            "imp_lines",
            f"""SELECT s.line, 'order_id', {msg} FROM imp_lines s
            WHERE s.order_ext IN (SELECT order_ext FROM imp_bad_orders)""",
        )

    def _check_refunded_amounts(self) -> None:
        """order_rules' refund rules for the refunded_amount column, with their words: a refund only of a
        purchase (one the file marks refunded; not a placed or cancelled one), never beyond its gross."""
        msg = self._message(
            self._rule(_("order %(value)s: %(rule)s"), order_rules.REFUND_NEEDS_REFUNDED_STATUS), "s.order_ext"
        )
        self._check(
            "imp_lines",
            f"""SELECT s.line, 'refunded_amount', {msg} FROM imp_lines s
            WHERE s.refunded_amount > 0 AND s.status <> 'refunded'""",
        )
        msg = self._message(self._rule(_("order %(value)s: %(rule)s"), order_rules.REFUND_TOO_LARGE), "s.order_ext")
        self._check(
            "imp_lines",
            f"""SELECT s.line, 'refunded_amount', {msg} FROM imp_lines s JOIN (
                SELECT order_ext, {self.dialect.money_sum("amount")} AS gross FROM imp_lines GROUP BY order_ext
            ) g ON g.order_ext = s.order_ext WHERE s.refunded_amount > 0 AND s.refunded_amount > g.gross""",
        )

    # --- merge ----------------------------------------------------------------------------------------

    def merge_customers(self) -> MergeCounts:
        d = self.dialect
        cols = self.customer_columns
        consent = "marketing_consent" in cols
        sets: list[tuple[str, str]] = [("name", "s.name")]
        sets += [
            (c, f"COALESCE(s.{c}, '')")
            for c in CUSTOMER_TEXT_COLUMNS
            if c in cols and c not in ("language", "time_zone")
        ]
        if "language" in cols:
            sets.append(("language", "COALESCE(NULLIF(s.language, ''), t.language)"))
        if "time_zone" in cols:
            sets.append(("time_zone", "COALESCE(NULLIF(s.time_zone, ''), t.time_zone)"))
        if "acquired_at" in cols:
            sets.append(("acquired_at", d.date("NULLIF(s.acquired_at, '')")))
        if "birth_date" in cols:
            sets.append(("birth_date", d.date("NULLIF(s.birth_date, '')")))
        if "account_manager" in cols:
            sets.append(
                (
                    "account_manager_id",
                    "COALESCE((SELECT u.id FROM auth_user u WHERE u.username = s.account_manager), t.account_manager_id)",
                )
            )
        if consent:
            given_at = d.timestamp("NULLIF(s.consent_at, '')")
            sets += [
                ("marketing_consent", "s.marketing_consent"),
                (
                    "consent_at",
                    f"CASE WHEN NOT s.marketing_consent THEN NULL WHEN NULLIF(s.consent_at, '') IS NOT NULL "
                    f"THEN {given_at} WHEN t.marketing_consent THEN t.consent_at ELSE %(now)s END",
                ),
                (
                    "consent_source",
                    "CASE WHEN NOT s.marketing_consent THEN '' WHEN COALESCE(s.consent_source, '') <> '' "
                    "THEN s.consent_source WHEN t.marketing_consent AND t.consent_source <> '' THEN t.consent_source "
                    "ELSE 'import' END",
                ),
            ]
        referral = "(SELECT r.id FROM customers_customer r WHERE r.external_id = s.referred_by)"
        differs = " OR ".join(f"t.{col} IS DISTINCT FROM ({expr})" for col, expr in sets)
        if "referred_by" in cols:
            differs += f" OR (COALESCE(s.referred_by, '') <> '' AND t.referred_by_id IS DISTINCT FROM {referral})"
        params = {"now": self.now, "job": self.job_db_id}
        counts = MergeCounts()
        counts.created = self._scalar(
            "SELECT count(*) FROM imp_customers s WHERE NOT EXISTS "
            "(SELECT 1 FROM customers_customer t WHERE t.external_id = s.external_id)"
        )
        counts.updated = self._scalar(
            f"SELECT count(*) FROM imp_customers s JOIN customers_customer t ON t.external_id = s.external_id "
            f"WHERE {differs}",
            params,
        )
        counts.unchanged = self._scalar("SELECT count(*) FROM imp_customers") - counts.created - counts.updated
        set_sql = ", ".join(f"{col} = {expr}" for col, expr in sets)
        self._exec(
            f"""UPDATE customers_customer AS t SET {set_sql}, import_job_id = %(job)s, updated_at = %(now)s
            FROM imp_customers s
            WHERE t.external_id = s.external_id AND ({" OR ".join(f"t.{c} IS DISTINCT FROM ({e})" for c, e in sets)})""",
            params,
        )
        self._insert_new_customers(full=True)
        if "referred_by" in cols:
            self._exec(
                f"""UPDATE customers_customer AS t SET referred_by_id = {referral}, import_job_id = %(job)s,
                updated_at = %(now)s FROM imp_customers s
                WHERE t.external_id = s.external_id AND COALESCE(s.referred_by, '') <> ''
                AND t.referred_by_id IS DISTINCT FROM {referral}""",
                params,
            )
        if "tags" in cols:
            self._merge_tags()
        self._sync_assignments()
        return counts

    def _insert_new_customers(self, *, full: bool) -> int:
        d = self.dialect
        cols = self.customer_columns if full else {"country"}

        def text(c: str, default: str = "''") -> str:
            return f"COALESCE(NULLIF(s.{c}, ''), {default})" if c in cols else default

        manager = "NULL" if self.manager_id is None else str(int(self.manager_id))
        if "account_manager" in cols:
            manager = f"COALESCE((SELECT u.id FROM auth_user u WHERE u.username = s.account_manager), {manager})"
        consent = "COALESCE(s.marketing_consent, false)" if "marketing_consent" in cols else "false"
        given_at = d.timestamp("NULLIF(s.consent_at, '')")
        consent_at = (
            f"CASE WHEN {consent} THEN COALESCE({given_at}, %(now)s) END" if "marketing_consent" in cols else "NULL"
        )
        consent_source = (
            f"CASE WHEN {consent} THEN COALESCE(NULLIF(s.consent_source, ''), 'import') ELSE '' END"
            if "marketing_consent" in cols
            else "''"
        )
        if full:
            acquired = d.date("NULLIF(s.acquired_at, '')") if "acquired_at" in cols else "NULL"
            born = d.date("NULLIF(s.birth_date, '')") if "birth_date" in cols else "NULL"
        else:
            born = "NULL"
            acquired = (
                f"(SELECT {d.date_of('min(l.ordered_at)')} FROM imp_lines l WHERE l.customer_ext = s.external_id)"
            )
        with connection.cursor() as cursor:
            cursor.execute(
                f"""INSERT INTO customers_customer (external_id, name, email, phone, company, country, language,
                time_zone, acquisition_source, notes, marketing_consent, consent_at, consent_source, acquired_at,
                birth_date, account_manager_id, import_job_id, created_at, updated_at)
                SELECT s.external_id, s.name, {text("email")}, {text("phone")}, {text("company")}, {text("country")},
                {text("language", "'en'")}, {text("time_zone", "'UTC'")}, {text("acquisition_source")},
                {text("notes")}, {consent}, {consent_at}, {consent_source}, {acquired}, {born}, {manager},
                %(job)s, %(now)s, %(now)s
                FROM imp_customers s WHERE NOT EXISTS (
                    SELECT 1 FROM customers_customer t WHERE t.external_id = s.external_id)""",
                {"now": self.now, "job": self.job_db_id},
            )
            return cursor.rowcount

    def _merge_tags(self) -> None:
        rows = self._fetch("SELECT external_id, tags FROM imp_customers")
        pairs = [
            (ext, tag.strip()[:50]) for ext, tags in rows for tag in (tags or "").split(";") if tag and tag.strip()
        ]
        self._exec("CREATE TEMP TABLE imp_tags (external_id varchar(64), tag varchar(50))")
        self._load("imp_tags", pd.DataFrame(pairs, columns=["external_id", "tag"]), ("external_id", "tag"))
        self._exec(
            "INSERT INTO customers_tag (name) SELECT DISTINCT tag FROM imp_tags s "
            "WHERE NOT EXISTS (SELECT 1 FROM customers_tag t WHERE t.name = s.tag)"
        )
        self._exec(
            """DELETE FROM customers_customer_tags WHERE customer_id IN (
                SELECT c.id FROM customers_customer c JOIN imp_customers s ON s.external_id = c.external_id)
            AND NOT EXISTS (SELECT 1 FROM imp_tags s JOIN customers_customer c ON c.external_id = s.external_id
                JOIN customers_tag t ON t.name = s.tag
                WHERE c.id = customers_customer_tags.customer_id AND t.id = customers_customer_tags.tag_id)"""
        )
        self._exec(
            """INSERT INTO customers_customer_tags (customer_id, tag_id)
            SELECT DISTINCT c.id, t.id FROM imp_tags s JOIN customers_customer c ON c.external_id = s.external_id
            JOIN customers_tag t ON t.name = s.tag WHERE NOT EXISTS (
                SELECT 1 FROM customers_customer_tags x WHERE x.customer_id = c.id AND x.tag_id = t.id)"""
        )

    def _sync_assignments(self) -> None:
        """Close the open assignment of customers whose manager changed; open one for the new manager."""
        params = {"now": self.now}
        self._exec(
            """UPDATE customers_accountassignment SET ended_at = %(now)s WHERE ended_at IS NULL AND customer_id IN (
                SELECT c.id FROM customers_customer c JOIN imp_customers s ON s.external_id = c.external_id
                WHERE c.account_manager_id IS DISTINCT FROM customers_accountassignment.manager_id)""",
            params,
        )
        self._exec(
            """INSERT INTO customers_accountassignment (customer_id, manager_id, started_at)
            SELECT c.id, c.account_manager_id, %(now)s FROM customers_customer c
            JOIN imp_customers s ON s.external_id = c.external_id
            WHERE c.account_manager_id IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM customers_accountassignment a WHERE a.customer_id = c.id AND a.ended_at IS NULL)""",
            params,
        )

    def merge_orders(self, *, customers_from_file: bool) -> MergeCounts:
        counts = MergeCounts()
        if customers_from_file:
            counts.customers_created = self._insert_new_customers(full=False)
            self._sync_assignments()
        self._exec(
            """INSERT INTO customers_product (sku, name, category)
            SELECT sku, COALESCE(NULLIF(max(product_name), ''), sku), COALESCE(max(category), '')
            FROM imp_lines s WHERE NOT EXISTS (SELECT 1 FROM customers_product p WHERE p.sku = s.sku) GROUP BY sku"""
        )
        # One row per order. Its net amount is not written: the database computes it (Order.net_amount).
        self._exec(
            f"""CREATE TEMP TABLE imp_orders AS SELECT s.order_ext, c.id AS customer_id, min(s.ordered_at) AS ordered_at,
            min(s.currency) AS currency, min(s.kind) AS kind, min(s.status) AS status, {self.dialect.money_sum("s.amount")} AS gross,
            max(s.refunded_amount) AS refunded_given, min(o.id) AS existing_id
            FROM imp_lines s JOIN customers_customer c ON c.external_id = s.customer_ext
            LEFT JOIN customers_order o ON o.external_id = s.order_ext
            GROUP BY s.order_ext, c.id"""
        )
        self.analyze("imp_orders")
        # order_rules.refunded_amount_on_record: an order recorded as refunded was refunded by the
        # refunded_amount the file gives, in full when it gives none.
        refunded = "CASE WHEN s.status = 'refunded' AND s.kind = 'purchase' THEN COALESCE(s.refunded_given, s.gross) ELSE 0 END"
        order_sets = [
            ("customer_id", "s.customer_id"),
            ("ordered_at", "s.ordered_at"),
            ("currency", "s.currency"),
            ("kind", "s.kind"),
            ("status", "s.status"),
            ("gross_amount", "s.gross"),
            ("refunded_amount", refunded),
        ]
        order_differs = " OR ".join(f"t.{c} IS DISTINCT FROM ({e})" for c, e in order_sets)
        total = self._scalar("SELECT count(*) FROM imp_orders")
        counts.created = self._scalar("SELECT count(*) FROM imp_orders WHERE existing_id IS NULL")
        # The customers whose rollups change (customers.rollups): those of new orders, and the old and
        # the new customer of every order the file changes. Read before the UPDATE changes them.
        touched = "SELECT customer_id FROM imp_orders WHERE existing_id IS NULL"
        if counts.created < total:
            counts.updated = self._count_changed_orders(order_differs)
            touched += """ UNION SELECT s.customer_id FROM imp_orders s JOIN imp_changed c ON c.order_id = s.existing_id
                UNION SELECT t.customer_id FROM customers_order t JOIN imp_changed c ON c.order_id = t.id"""
        self._exec(f"CREATE TEMP TABLE imp_touched AS {touched}")
        self.analyze("imp_touched")
        if counts.created < total:
            set_sql = ", ".join(f"{c} = {e}" for c, e in order_sets)
            # Every changed order is written, those whose lines alone changed too: the job is theirs now.
            self._exec(
                f"""UPDATE customers_order AS t SET {set_sql}, import_job_id = %(job)s, updated_at = %(now)s
                FROM imp_orders s JOIN imp_changed c ON c.order_id = s.existing_id WHERE t.id = s.existing_id""",
                {"now": self.now, "job": self.job_db_id},
            )
        counts.unchanged = total - counts.created - counts.updated
        self._exec(
            f"""INSERT INTO customers_order (external_id, customer_id, ordered_at, currency, kind, status,
            gross_amount, refunded_amount, import_job_id, created_at, updated_at)
            SELECT s.order_ext, s.customer_id, s.ordered_at, s.currency, s.kind, s.status, s.gross, {refunded},
            %(job)s, %(now)s, %(now)s FROM imp_orders s WHERE s.existing_id IS NULL""",
            {"now": self.now, "job": self.job_db_id},
        )
        # With no new order, the numbered lines built for the count are still right for the merge.
        self._merge_lines(any_existing=counts.created < total, reuse=counts.created == 0 and total > 0)
        customer_rollups_defer_sql("SELECT customer_id FROM imp_touched")
        return counts

    def _numbered_lines(self) -> None:
        self._exec(
            """CREATE TEMP TABLE imp_lines_n AS SELECT o.id AS order_id,
            row_number() OVER (PARTITION BY s.order_ext ORDER BY s.line) AS line_number,
            p.id AS product_id, s.quantity, s.unit_price, s.amount
            FROM imp_lines s JOIN customers_order o ON o.external_id = s.order_ext
            JOIN customers_product p ON p.sku = s.sku"""
        )

    def _count_changed_orders(self, order_differs: str) -> int:
        """Existing orders whose own row, or any of whose lines, the file changes (hash joins, no loops),
        into imp_changed (order_id); returns how many."""
        self._numbered_lines()
        self._exec("CREATE INDEX imp_lines_n_order ON imp_lines_n (order_id, line_number)")
        self.analyze("imp_orders", "imp_lines_n")
        self._exec(
            f"""CREATE TEMP TABLE imp_changed AS
                SELECT s.existing_id AS order_id FROM imp_orders s JOIN customers_order t ON t.id = s.existing_id
                WHERE {order_differs}
                UNION
                SELECT n.order_id FROM imp_lines_n n JOIN imp_orders s ON s.existing_id = n.order_id
                LEFT JOIN customers_orderline l ON l.order_id = n.order_id AND l.line_number = n.line_number
                WHERE l.id IS NULL OR l.product_id IS DISTINCT FROM n.product_id OR l.quantity IS DISTINCT FROM n.quantity
                OR l.unit_price IS DISTINCT FROM n.unit_price OR l.amount IS DISTINCT FROM n.amount
                UNION
                {self._surplus_lines("l.order_id")}"""
        )
        return self._scalar("SELECT count(*) FROM imp_changed")

    @staticmethod
    def _surplus_lines(select: str) -> str:
        """Lines stored for an order of the file that the file no longer has."""
        return f"""SELECT {select} FROM customers_orderline l JOIN imp_orders s ON s.existing_id = l.order_id
                LEFT JOIN imp_lines_n n ON n.order_id = l.order_id AND n.line_number = l.line_number
                WHERE n.order_id IS NULL"""

    def _merge_lines(self, *, any_existing: bool, reuse: bool) -> None:
        if not reuse:
            self._exec("DROP TABLE IF EXISTS imp_lines_n")
            self._numbered_lines()
            if any_existing:
                self._exec("CREATE INDEX imp_lines_n_order ON imp_lines_n (order_id, line_number)")
                self.analyze("imp_lines_n")
        if any_existing:
            self._exec(
                """UPDATE customers_orderline AS t SET product_id = s.product_id, quantity = s.quantity,
                unit_price = s.unit_price, amount = s.amount FROM imp_lines_n s
                WHERE t.order_id = s.order_id AND t.line_number = s.line_number AND (
                t.product_id IS DISTINCT FROM s.product_id OR t.quantity IS DISTINCT FROM s.quantity
                OR t.unit_price IS DISTINCT FROM s.unit_price OR t.amount IS DISTINCT FROM s.amount)"""
            )
            self._exec(f"DELETE FROM customers_orderline WHERE id IN ({self._surplus_lines('l.id')})")
            new_lines = """WHERE NOT EXISTS (SELECT 1 FROM customers_orderline t
                WHERE t.order_id = s.order_id AND t.line_number = s.line_number)"""
        else:
            new_lines = ""
        self._exec(
            f"""INSERT INTO customers_orderline (order_id, line_number, product_id, quantity, unit_price, amount)
            SELECT s.order_id, s.line_number, s.product_id, s.quantity, s.unit_price, s.amount FROM imp_lines_n s
            {new_lines}"""
        )

    # --- helpers -------------------------------------------------------------------------------------

    def constraints_immediate(self) -> None:
        """Check foreign keys statement by statement rather than queueing 10^6 deferred checks for COMMIT."""
        if self.dialect.postgres:
            self._exec("SET CONSTRAINTS ALL IMMEDIATE")

    def analyze(self, *tables: str) -> None:
        """Temporary tables get no statistics from autovacuum; without them PostgreSQL plans blind."""
        if self.dialect.postgres:
            for table in tables or ("imp_lines", "imp_customers"):
                self._exec(f"ANALYZE {table}")

    @staticmethod
    def _exec(sql: str, params=None) -> None:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        logger.debug("imports.sql seconds=%.3f %s", time.perf_counter() - started, " ".join(sql.split())[:90])

    @staticmethod
    def _scalar(sql: str, params=None) -> int:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            value = int(cursor.fetchone()[0] or 0)
        logger.debug("imports.sql seconds=%.3f %s", time.perf_counter() - started, " ".join(sql.split())[:90])
        return value

    @staticmethod
    def _fetch(sql: str, params=None) -> list[tuple]:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
