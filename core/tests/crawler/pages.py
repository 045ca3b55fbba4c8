"""A page's HTML as a small tree, for the crawler: the text a reader sees and the cells of the change list's table,
read with the standard library's parser (no browser needed where the server writes the text)."""

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
# Not read as text: scripts and styles; <code> holds a code shown beside its name; the language menu names
# English in English, as it should.
UNREAD = {"script", "style", "template", "code", "noscript"}
BLOCK = {"p", "div", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "dt", "dd", "option", "label", "br", "table",
         "ul", "ol", "fieldset", "legend", "caption", "form", "section", "header", "footer", "nav", "button"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list = field(default_factory=list)  # Node or str

    def find(self, **attrs: str) -> "Node | None":
        for node in self.walk():
            if all(node.attrs.get(k) == v for k, v in attrs.items()):
                return node
        return None

    def walk(self) -> "list[Node]":
        out, stack = [], [self]
        while stack:
            node = stack.pop()
            out.append(node)
            stack.extend(reversed([c for c in node.children if isinstance(c, Node)]))
        return out

    def all(self, tag: str) -> "list[Node]":
        return [n for n in self.walk() if n.tag == tag and n is not self]

    def text(self, *, codes: bool = False) -> str:
        """What a reader sees, roughly as the browser's innerText: unread and hidden elements left out (<code>
        too unless `codes`), one block element a line, the label of a submit button or a search box read too."""
        unread = UNREAD - {"code"} if codes else UNREAD
        if self.tag in unread or "hidden" in self.attrs or self.attrs.get("id") == "language-switcher":
            return ""
        if self.tag == "input":
            if self.attrs.get("type") in {"submit", "button"}:
                return self.attrs.get("value", "")
            return self.attrs.get("placeholder", "")
        parts = [c if isinstance(c, str) else c.text(codes=codes) for c in self.children]
        text = " ".join(" ".join(parts).split())
        return f"\n{text}\n" if self.tag in BLOCK else text


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def page_tree(html: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def page_text(tree: Node) -> str:
    body = next(iter(tree.all("body")), tree)
    return "\n".join(line.strip() for line in body.text().splitlines() if line.strip())


def result_table(tree: Node) -> dict | None:
    """The change list's headers and, for each row, its cells' text; the cell linking to the row's own page (its
    code or number, shown beside its name) is left out."""
    table = tree.find(id="result_list")
    if table is None:
        return None
    thead = next(iter(table.all("thead")), None)
    heads = [" ".join(th.text().split()) for th in thead.all("th")] if thead else []
    rows = []
    for tbody in table.all("tbody"):
        for tr in tbody.all("tr"):
            cells = [c for c in tr.children if isinstance(c, Node) and c.tag in {"td", "th"}]
            rows.append(["" if c.tag == "th" and any("/change/" in a.attrs.get("href", "") for a in c.all("a"))
                         else " ".join(c.text(codes=True).split()) for c in cells])
    return {"heads": heads, "rows": rows}
