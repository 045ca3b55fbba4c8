"""The settlement slip (结算单): one printable A4 page per settlement, as the enrollee takes it home. Drawn with
reportlab; Chinese is set in its built-in CID font STSong-Light, which needs no font file (the PDF reader supplies
the glyphs). The ID number is masked unless the member of staff may see it whole."""

import io
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from claims.models import Settlement
from core.certno import certno_mask

FONT = "STSong-Light"


@dataclass(frozen=True)
class Slip:
    """What the slip says, as text: the heading pairs, the lines and the payers' amounts."""

    title: str
    facts: list[tuple[str, str]]
    lines: list[tuple[str, str, str, str, str]]
    amounts: list[tuple[str, Decimal]]
    reversed_note: str


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def settlement_slip(settlement: Settlement, *, full_certno: bool) -> Slip:
    """The slip's content for `settlement` (lines loaded with their catalog items)."""
    person, facility = settlement.person, settlement.facility
    facts = [
        (_("settlement id"), settlement.setl_id),
        (_("facility"), f"{facility.fixmedins_code} {facility.fixmedins_name}"),
        (_("facility's settlement id"), settlement.medins_setl_id),
        (_("service date"), settlement.setl_date.isoformat()),
        (_("person number"), person.psn_no),
        (pgettext("person", "name"), person.psn_name),
        (_("ID number"), person.certno if full_certno else certno_mask(person.certno)),
        (_("medical type"), f"{settlement.med_type} {settlement.get_med_type_display()}"),
        (_("policy version"), settlement.policy_version.code if settlement.policy_version_id else "—"),
    ]
    lines = [(line.item_code, line.item.item_name if line.item_id else "", f"{line.qty.normalize():f}",
              f"{line.price:.2f}", _money(line.amount))
             for line in settlement.lines.select_related("item").order_by("pk")]
    amounts = [
        (_("total"), settlement.medfee_sumamt),
        (_("in-scope amount"), settlement.inscp_scp_amt),
        (_("deductible paid"), settlement.act_pay_dedc),
        (_("pooled fund"), settlement.hifp_pay),
        (_("local supplementary fund"), settlement.oth_pay),
        (_("own account"), settlement.acct_pay),
        (_("relatives' accounts"), settlement.acct_mulaid_pay),
        (_("cash"), settlement.psn_cash_pay),
    ]
    note = ""
    if settlement.is_reversed:
        note = _("Reversed %(at)s: %(reason)s") % {
            "at": timezone.localtime(settlement.reversed_at).strftime("%Y-%m-%d %H:%M"),
            "reason": settlement.reversal_reason}
    return Slip(title=_("Settlement slip"), facts=facts, lines=lines, amounts=amounts, reversed_note=note)


def settlement_slip_pdf(slip: Slip) -> bytes:
    """The slip as a one-page (or longer, for long bills) A4 PDF."""
    # reportlab is imported here, not with the module: the admin imports this module in every process
    # (`manage.py` commands included), and reportlab's import is about 0.1 s of CPU that only a slip needs.
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm,
                            bottomMargin=16 * mm, title=slip.title)
    heading = ParagraphStyle("heading", fontName=FONT, fontSize=18, leading=24, alignment=1)
    text = ParagraphStyle("text", fontName=FONT, fontSize=9.5, leading=13)
    grid = TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT), ("FONTSIZE", (0, 0), (-1, -1), 9.5),
                       ("GRID", (0, 0), (-1, -1), 0.4, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP")])
    story = [Paragraph(slip.title, heading), Spacer(1, 4 * mm)]
    facts = [[Paragraph(label, text), Paragraph(value or "", text)] for label, value in slip.facts]
    story.append(Table(facts, colWidths=[40 * mm, 134 * mm], style=grid))
    story.append(Spacer(1, 5 * mm))
    rows = [[_("item code"), _("item name"), _("quantity"), _("unit price"), _("amount")]]
    rows += [[code, Paragraph(name, text), qty, price, amount] for code, name, qty, price, amount in slip.lines]
    lines = Table(rows, colWidths=[30 * mm, 74 * mm, 20 * mm, 24 * mm, 26 * mm], repeatRows=1, style=grid)
    lines.setStyle(TableStyle([("ALIGN", (2, 0), (-1, -1), "RIGHT"),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke)]))
    story.append(lines)
    story.append(Spacer(1, 5 * mm))
    amounts = Table([[label, _money(value)] for label, value in slip.amounts], colWidths=[60 * mm, 40 * mm],
                    style=grid, hAlign="RIGHT")
    amounts.setStyle(TableStyle([("ALIGN", (1, 0), (1, -1), "RIGHT")]))
    story.append(amounts)
    if slip.reversed_note:
        story += [Spacer(1, 5 * mm), Paragraph(slip.reversed_note, text)]
    story += [Spacer(1, 8 * mm), Paragraph(_("Printed %(at)s") % {
        "at": timezone.localtime().strftime("%Y-%m-%d %H:%M")}, text)]
    doc.build(story)
    return buffer.getvalue()
