//! A small, bounded XML tree for SOAP responses: elements are matched by namespace
//! URI and local name, never by prefix (Windows writes `s:`/`a:`/`w:`/`rsp:`, other
//! servers choose their own).
//!
//! Caps: nesting depth and element count are limited, so a hostile body cannot
//! exhaust the stack or memory (the body itself is already size-capped by the
//! transport). This is the only XML parser in the client; `response` and `fault`
//! read the tree it builds.

use std::borrow::Cow;

use quick_xml::NsReader;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;

/// SOAP 1.2 envelope.
pub(crate) const NS_SOAP: &str = "http://www.w3.org/2003/05/soap-envelope";
/// WS-Addressing (2004/08).
pub(crate) const NS_ADDRESSING: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
/// DMTF WS-Management.
pub(crate) const NS_WSMAN: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd";
/// Microsoft WS-Management extensions.
#[allow(dead_code)]
pub(crate) const NS_WSMV: &str = "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd";
/// Windows Remote Shell.
pub(crate) const NS_SHELL: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell";
/// WS-Transfer.
pub(crate) const NS_TRANSFER: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer";
/// The WSManFault detail element.
pub(crate) const NS_WSMAN_FAULT: &str = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault";

/// Limits applied while building the tree.
#[derive(Debug, Clone, Copy)]
pub(crate) struct XmlLimits {
    /// Deepest allowed element nesting.
    pub(crate) max_depth: usize,
    /// Most elements in one document.
    pub(crate) max_elements: usize,
}

impl Default for XmlLimits {
    fn default() -> Self {
        // A WinRS response nests about 8 deep; ProviderFault details reach ~12.
        Self {
            max_depth: 64,
            max_elements: 200_000,
        }
    }
}

/// Why a document was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum XmlError {
    /// Not well-formed, not UTF-8, or no root element.
    Malformed(String),
    /// Nesting passed `max_depth`.
    TooDeep(usize),
    /// More than `max_elements` elements.
    TooManyElements(usize),
}

/// A resolved namespace URI: the ones WinRM uses are shared constants, so a
/// response's twenty-odd elements do not each own a copy of a 50-byte URI.
pub(crate) type Ns = Option<Cow<'static, str>>;

/// The namespaces WinRS responses use, in rough order of frequency.
const KNOWN_NS: [&str; 7] = [
    NS_SHELL,
    NS_SOAP,
    NS_ADDRESSING,
    NS_WSMAN,
    NS_TRANSFER,
    NS_WSMAN_FAULT,
    NS_WSMV,
];

/// One attribute, namespace resolved (`None` = no namespace, the usual case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attr {
    pub(crate) ns: Ns,
    pub(crate) local: String,
    pub(crate) value: String,
}

/// One element with its resolved name, attributes, children and direct text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Element {
    pub(crate) ns: Ns,
    pub(crate) local: String,
    pub(crate) attrs: Vec<Attr>,
    pub(crate) children: Vec<Element>,
    /// Concatenated character data directly inside this element (entities resolved).
    pub(crate) text: String,
}

impl Element {
    /// True if this element is `{ns}local`.
    pub(crate) fn is(&self, ns: &str, local: &str) -> bool {
        self.local == local && self.ns.as_deref() == Some(ns)
    }

    /// The first child `{ns}local`.
    pub(crate) fn child(&self, ns: &str, local: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.is(ns, local))
    }

    /// All children `{ns}local`, in document order.
    pub(crate) fn children_named<'a>(
        &'a self,
        ns: &'a str,
        local: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.is(ns, local))
    }

    /// Follows a path of `(ns, local)` steps through first matches.
    pub(crate) fn path(&self, steps: &[(&str, &str)]) -> Option<&Element> {
        let mut at = self;
        for (ns, local) in steps {
            at = at.child(ns, local)?;
        }
        Some(at)
    }

    /// The first descendant (depth first, self excluded) named `{ns}local`.
    pub(crate) fn descendant(&self, ns: &str, local: &str) -> Option<&Element> {
        for c in &self.children {
            if c.is(ns, local) {
                return Some(c);
            }
            if let Some(found) = c.descendant(ns, local) {
                return Some(found);
            }
        }
        None
    }

    /// The first descendant with this local name in any namespace.
    pub(crate) fn descendant_local(&self, local: &str) -> Option<&Element> {
        for c in &self.children {
            if c.local == local {
                return Some(c);
            }
            if let Some(found) = c.descendant_local(local) {
                return Some(found);
            }
        }
        None
    }

    /// The value of the un-namespaced attribute `local`.
    pub(crate) fn attr(&self, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns.is_none() && a.local == local)
            .map(|a| a.value.as_str())
    }

    /// All text in this element and its descendants, in document order.
    pub(crate) fn deep_text(&self) -> String {
        let mut out = self.text.clone();
        for c in &self.children {
            out.push_str(&c.deep_text());
        }
        out
    }
}

fn resolved_ns(r: ResolveResult<'_>) -> Result<Ns, XmlError> {
    match r {
        ResolveResult::Bound(ns) => Ok(Some(
            KNOWN_NS.iter().find(|known| **known == ns.0).map_or_else(
                || Cow::Owned(ns.0.to_owned()),
                |known| Cow::Borrowed(*known),
            ),
        )),
        ResolveResult::Unbound => Ok(None),
        ResolveResult::Unknown(prefix) => Err(XmlError::Malformed(format!(
            "undeclared namespace prefix '{prefix}'"
        ))),
    }
}

/// Parses a whole document into its root element.
///
/// # Errors
/// [`XmlError`] for anything not well-formed or over the limits; never panics.
pub(crate) fn parse(bytes: &[u8], limits: XmlLimits) -> Result<Element, XmlError> {
    parse_pruned(bytes, limits, &[])
}

/// Parses a whole document like [`parse`], but keeps elements named in `prune`
/// (by namespace and local name) without their content: no children, no text.
/// The pruned content is still read and checked exactly as [`parse`] checks it
/// (well-formedness, namespace prefixes, attributes, entities, depth and element
/// caps), so a document is accepted or rejected the same either way; only the
/// tree of what the caller never reads is not built. A CreateResponse echoes the
/// whole `rsp:Environment` (our ~17 KB program), of which only the ShellId is wanted.
///
/// # Errors
/// [`XmlError`] for anything not well-formed or over the limits; never panics.
pub(crate) fn parse_pruned(
    bytes: &[u8],
    limits: XmlLimits,
    prune: &[(&str, &str)],
) -> Result<Element, XmlError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| XmlError::Malformed(format!("not UTF-8 at byte {}", e.valid_up_to())))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = NsReader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    // Open elements inside a pruned element: read and checked, not kept.
    let mut skipped = 0usize;
    loop {
        let (ns, event) = reader
            .read_resolved_event()
            .map_err(|e| XmlError::Malformed(e.to_string()))?;
        let ns = match &event {
            Event::Start(_) | Event::Empty(_) => resolved_ns(ns)?,
            _ => None,
        };
        match event {
            Event::Start(start) | Event::Empty(start) if root.is_some() => {
                let _ = start;
                return Err(XmlError::Malformed(
                    "content after the root element".to_owned(),
                ));
            }
            Event::Start(ref start) | Event::Empty(ref start) => {
                count += 1;
                if count > limits.max_elements {
                    return Err(XmlError::TooManyElements(limits.max_elements));
                }
                if stack.len() + skipped >= limits.max_depth {
                    return Err(XmlError::TooDeep(limits.max_depth));
                }
                if skipped > 0 || stack.last().is_some_and(|top| is_pruned(top, prune)) {
                    check_attributes(&reader, start)?;
                    if matches!(event, Event::Start(_)) {
                        skipped += 1;
                    }
                    continue;
                }
                let local = start.local_name().as_ref().to_owned();
                let mut attrs = Vec::new();
                for attr in start.attributes() {
                    let attr = attr.map_err(|e| XmlError::Malformed(e.to_string()))?;
                    let key = attr.key;
                    if key.as_ref() == "xmlns" || key.as_ref().starts_with("xmlns:") {
                        continue;
                    }
                    let (ans, alocal) = reader.resolver().resolve_attribute(key);
                    let ans = resolved_ns(ans)?;
                    let value = attr
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map_err(|e| XmlError::Malformed(e.to_string()))?
                        .into_owned();
                    attrs.push(Attr {
                        ns: ans,
                        local: alocal.as_ref().to_owned(),
                        value,
                    });
                }
                let element = Element {
                    ns,
                    local,
                    attrs,
                    children: Vec::new(),
                    text: String::new(),
                };
                if matches!(event, Event::Empty(_)) {
                    attach(&mut stack, &mut root, element);
                } else {
                    stack.push(element);
                }
            }
            Event::End(_) if skipped > 0 => skipped -= 1,
            Event::End(_) => {
                let element = stack
                    .pop()
                    .ok_or_else(|| XmlError::Malformed("end tag without a start tag".to_owned()))?;
                attach(&mut stack, &mut root, element);
            }
            // Text inside a pruned element (never outside the root, so the
            // check in `push_text` has nothing to reject).
            Event::Text(_) | Event::CData(_)
                if stack.last().is_some_and(|top| is_pruned(top, prune)) => {}
            Event::Text(t) => {
                let content = t.xml10_content();
                push_text(&mut stack, &content)?;
            }
            Event::CData(c) => {
                let content = c.xml10_content();
                push_text(&mut stack, &content)?;
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(ch)) => ch.to_string(),
                    Ok(None) => quick_xml::escape::resolve_xml_entity(&r)
                        .ok_or_else(|| XmlError::Malformed(format!("unknown entity &{};", &*r)))?
                        .to_owned(),
                    Err(e) => return Err(XmlError::Malformed(e.to_string())),
                };
                if !stack.last().is_some_and(|top| is_pruned(top, prune)) {
                    push_text(&mut stack, &resolved)?;
                }
            }
            Event::DocType(_) => {
                // SOAP forbids a DTD (SOAP 1.2 part 1, 5); refusing it also rules out entity tricks.
                return Err(XmlError::Malformed(
                    "a DOCTYPE is not allowed in SOAP".to_owned(),
                ));
            }
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(XmlError::Malformed(
            "document ends inside an element".to_owned(),
        ));
    }
    root.ok_or_else(|| XmlError::Malformed("no root element".to_owned()))
}

/// True if `element`'s content is not kept.
fn is_pruned(element: &Element, prune: &[(&str, &str)]) -> bool {
    prune.iter().any(|(ns, local)| element.is(ns, local))
}

/// The checks [`parse`] makes of a kept element's attributes, without keeping them.
fn check_attributes(
    reader: &NsReader<&[u8]>,
    start: &quick_xml::events::BytesStart<'_>,
) -> Result<(), XmlError> {
    for attr in start.attributes() {
        let attr = attr.map_err(|e| XmlError::Malformed(e.to_string()))?;
        let key = attr.key;
        if key.as_ref() == "xmlns" || key.as_ref().starts_with("xmlns:") {
            continue;
        }
        let (ans, _) = reader.resolver().resolve_attribute(key);
        resolved_ns(ans)?;
        attr.normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| XmlError::Malformed(e.to_string()))?;
    }
    Ok(())
}

fn push_text(stack: &mut [Element], content: &str) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(top) => {
            top.text.push_str(content);
            Ok(())
        }
        None if content.trim().is_empty() => Ok(()),
        None => Err(XmlError::Malformed(
            "text outside the root element".to_owned(),
        )),
    }
}

fn attach(stack: &mut [Element], root: &mut Option<Element>, element: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None => *root = Some(element),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_by_namespace_not_prefix() {
        let a = parse(
            br#"<x:E xmlns:x="urn:a"><x:C n="1">t&amp;u&#65;</x:C></x:E>"#,
            XmlLimits::default(),
        )
        .expect("well-formed");
        let b = parse(
            br#"<E xmlns="urn:a"><C n="1">t&amp;uA</C></E>"#,
            XmlLimits::default(),
        )
        .expect("well-formed");
        assert!(a.is("urn:a", "E"));
        assert_eq!(a, b);
        assert_eq!(a.child("urn:a", "C").map(|c| c.text.as_str()), Some("t&uA"));
    }

    #[test]
    fn nesting_past_the_cap_is_rejected() {
        let mut doc = String::new();
        for _ in 0..100 {
            doc.push_str("<a>");
        }
        for _ in 0..100 {
            doc.push_str("</a>");
        }
        assert_eq!(
            parse(doc.as_bytes(), XmlLimits::default()),
            Err(XmlError::TooDeep(64))
        );
    }

    #[test]
    fn truncated_garbage_and_doctype_are_errors_not_panics() {
        let samples: &[&[u8]] = &[
            b"",
            b"<",
            b"<a>",
            b"<a></b>",
            b"</a>",
            b"<a/><b/>",
            b"\xff\xfe<\x00a\x00",
            b"<p:a>unbound prefix</p:a>",
            b"<a>&unknown;</a>",
            b"<a>&#xFFFFFFFF;</a>",
            b"<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>",
            b"hello",
        ];
        for s in samples {
            assert!(parse(s, XmlLimits::default()).is_err(), "{s:?}");
        }
    }

    #[test]
    fn element_count_cap_holds() {
        let doc = format!("<a>{}</a>", "<b/>".repeat(50));
        let limits = XmlLimits {
            max_depth: 8,
            max_elements: 10,
        };
        assert_eq!(
            parse(doc.as_bytes(), limits),
            Err(XmlError::TooManyElements(10))
        );
    }

    const PRUNE: &[(&str, &str)] = &[("urn:a", "P")];

    #[test]
    fn pruned_element_is_kept_without_its_content() {
        let doc = br#"<E xmlns="urn:a"><P n="1">text<V Name="x">a&amp;b</V><V/></P><C>c</C></E>"#;
        let full = parse(doc, XmlLimits::default()).expect("full");
        let pruned = parse_pruned(doc, XmlLimits::default(), PRUNE).expect("pruned");
        let p = pruned.child("urn:a", "P").expect("P kept");
        assert_eq!(p.attr("n"), Some("1"));
        assert!(p.children.is_empty() && p.text.is_empty());
        assert_eq!(pruned.child("urn:a", "C"), full.child("urn:a", "C"));
        assert_eq!(
            full.child("urn:a", "P").map(|p| p.children.len()),
            Some(2),
            "the full parse keeps what the pruned one drops"
        );
    }

    #[test]
    fn pruned_content_is_checked_like_the_rest() {
        let bad: &[&str] = &[
            "<x:V/>",
            r#"<V x:n="1"/>"#,
            "&unknown;",
            "&#xFFFFFFFF;",
            r#"<V n="&bad;"/>"#,
            r#"<V n="1" n="2"/>"#,
            "<V></W>",
            "<V>",
            "</E>",
        ];
        for inner in bad {
            let doc = format!(r#"<E xmlns="urn:a"><P>{inner}</P></E>"#);
            let full = parse(doc.as_bytes(), XmlLimits::default());
            let pruned = parse_pruned(doc.as_bytes(), XmlLimits::default(), PRUNE);
            assert!(full.is_err(), "{inner}");
            assert!(pruned.is_err(), "{inner} must be rejected when pruned too");
        }
        let deep = format!(
            r#"<E xmlns="urn:a"><P>{}{}</P></E>"#,
            "<a>".repeat(100),
            "</a>".repeat(100)
        );
        assert_eq!(
            parse_pruned(deep.as_bytes(), XmlLimits::default(), PRUNE),
            Err(XmlError::TooDeep(64))
        );
        let many = format!(r#"<E xmlns="urn:a"><P>{}</P></E>"#, "<b/>".repeat(50));
        let limits = XmlLimits {
            max_depth: 8,
            max_elements: 10,
        };
        assert_eq!(
            parse_pruned(many.as_bytes(), limits, PRUNE),
            Err(XmlError::TooManyElements(10))
        );
    }
}
