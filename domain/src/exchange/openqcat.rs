//! OpenQCAT 1.1, the XML format of the Federal Employment Agency's KURSNET, read as a stream: one
//! `SERVICE` at a time is held (as a flat list of its elements), mapped and handed on.
//!
//! A `SERVICE` whose `EDUCATION type="true"` (or no `type`) is an offer (Angebot: our course);
//! `type="false"` is a dated run (Veranstaltung: our offering) whose `COURSE_ID` holds its offer's
//! `PRODUCT_ID`; offers and runs are siblings in any order. An offer with a `SERVICE_DATE` of its own
//! whose file has no run for it is read as a run of itself too (key: its `PRODUCT_ID`), so a
//! catalogue without separate runs still lists its dates. `NEW_CATALOG` is a full catalogue (unless
//! `FULLCATALOG="false"`); `UPDATE_CATALOG seq_number="N"` a delta whose `DELETE` services are removed
//! (an offer with its runs) and whose `NEW` services are created or replaced. The XSD fixes
//! `SERVICE/@mode` to `new`; `update` and `delete` there are honoured all the same.
//!
//! Codes are mapped by [`codes`]; a code we do not know is a warning, and the field keeps its value.
//! Contact persons (`CONTACT`) are never read: they are personal data the platform does not need.

use std::io::{BufRead, BufReader};

use entity::course::{CertificateType, CourseFormat, CourseSchedule, FundingOption};
use quick_xml::events::{BytesStart, Event};

use super::transcode::{Utf8, declared_encoding};
use super::values::Checker;
use super::{CatalogueKind, CatalogueReader, Fatal, Head, Item, Mode, OfferRecord, Record, RunRecord};
use crate::service::courses::{CourseFields, OfferingFields};

/// One element inside a `SERVICE`: its path below the `SERVICE`, attributes and text.
#[derive(Debug, Clone)]
struct Node {
    path: String,
    attributes: Vec<(String, String)>,
    text: String,
}

impl Node {
    fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// A `SERVICE` as read: its absolute path, mode and elements.
struct Service {
    path: String,
    mode: Mode,
    nodes: Vec<Node>,
}

impl Service {
    fn all(&self, path: &str) -> Vec<&Node> {
        self.nodes.iter().filter(|n| n.path == path).collect()
    }

    fn first(&self, path: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.path == path)
    }

    fn text(&self, path: &str) -> Option<&str> {
        self.first(path).map(|n| n.text.trim()).filter(|t| !t.is_empty())
    }

    /// The absolute path of an element below this `SERVICE`.
    fn at(&self, path: &str) -> String {
        format!("{}/{path}", self.path)
    }
}

const DETAILS: &str = "SERVICE_DETAILS";
const EDUCATION: &str = "SERVICE_DETAILS/SERVICE_MODULE/EDUCATION";
const COURSE: &str = "SERVICE_DETAILS/SERVICE_MODULE/EDUCATION/MODULE_COURSE";
const INFO: &str = "SERVICE_DETAILS/SERVICE_MODULE/EDUCATION/EXTENDED_INFO";
/// Services are held one at a time; one bigger than this is refused (a file made to exhaust memory).
const MAX_SERVICE_NODES: usize = 20_000;
const MAX_TEXT_BYTES: usize = 1024 * 1024;

pub struct Reader {
    xml: quick_xml::Reader<Utf8<BufReader<std::fs::File>>>,
    buffer: Vec<u8>,
    /// Element names from the root down.
    stack: Vec<String>,
    head: Option<Head>,
    /// The `SERVICE` being read, with the depth it started at.
    service: Option<(usize, Service)>,
    /// Count of `SERVICE`s per parent path, for `[n]` in paths.
    counts: Vec<usize>,
    /// A run read from an offer's own dates, handed out after the offer.
    queued: Option<Item>,
    saw_catalogue: Option<&'static str>,
    done: bool,
}

impl Reader {
    pub fn new(file: std::fs::File) -> std::io::Result<Self> {
        let mut buffered = BufReader::with_capacity(64 * 1024, file);
        let (encoding, bom) = declared_encoding(buffered.fill_buf()?).map_err(std::io::Error::other)?;
        buffered.consume(bom);
        let mut xml = quick_xml::Reader::from_reader(Utf8::new(buffered, encoding));
        xml.config_mut().trim_text(false);
        xml.config_mut().expand_empty_elements = true;
        Ok(Self {
            xml,
            buffer: Vec::new(),
            stack: Vec::new(),
            head: None,
            service: None,
            counts: Vec::new(),
            queued: None,
            saw_catalogue: None,
            done: false,
        })
    }

    fn path(&self) -> String {
        format!("/{}", self.stack.join("/"))
    }

    fn fatal(&mut self, message: impl Into<String>) -> Option<Result<Item, Fatal>> {
        self.done = true;
        Some(Err(Fatal { path: self.path(), message: message.into() }))
    }

    fn start(&mut self, element: &BytesStart<'_>) -> Result<(), String> {
        let name = String::from_utf8_lossy(element.local_name().as_ref()).into_owned();
        let mut attributes = Vec::new();
        for attribute in element.attributes() {
            let attribute = attribute.map_err(|e| format!("ungültiges Attribut: {e}"))?;
            let key = String::from_utf8_lossy(attribute.key.local_name().as_ref()).into_owned();
            let value = attribute.unescape_value().map_err(|e| format!("ungültiger Attributwert: {e}"))?;
            attributes.push((key, value.into_owned()));
        }
        let attribute = |n: &str| attributes.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        let depth = self.stack.len();
        if depth == 0 && name != "OPENQCAT" {
            return Err(format!("keine OpenQCAT-Datei: das Wurzelelement heißt {name}, nicht OPENQCAT"));
        }
        if depth == 1 && (name == "NEW_CATALOG" || name == "UPDATE_CATALOG") {
            if let Some(other) = self.saw_catalogue {
                return Err(format!(
                    "die Datei enthält {other} und {name}: eine Lieferung ist entweder ein Gesamtkatalog oder eine Änderung"
                ));
            }
            self.saw_catalogue = Some(if name == "NEW_CATALOG" { "NEW_CATALOG" } else { "UPDATE_CATALOG" });
            self.head = Some(if name == "NEW_CATALOG" {
                let full = !matches!(attribute("FULLCATALOG").as_deref(), Some("false" | "0"));
                Head {
                    kind: if full { CatalogueKind::Full } else { CatalogueKind::Rows },
                    sequence: None,
                    supplier: None,
                }
            } else {
                let sequence = attribute("seq_number")
                    .ok_or("UPDATE_CATALOG ohne seq_number: eine Änderung braucht ihre laufende Nummer")?;
                let sequence = sequence
                    .trim()
                    .parse::<i64>()
                    .map_err(|_| format!("seq_number „{sequence}“ ist keine ganze Zahl"))?;
                Head { kind: CatalogueKind::Delta, sequence: Some(sequence), supplier: None }
            });
        }
        self.stack.push(name.clone());
        while self.counts.len() < self.stack.len() + 1 {
            self.counts.push(0);
        }
        self.counts.truncate(self.stack.len() + 1);
        if let Some((start, service)) = &mut self.service {
            if service.nodes.len() >= MAX_SERVICE_NODES {
                return Err(format!(
                    "ein SERVICE mit mehr als {MAX_SERVICE_NODES} Elementen wird nicht gelesen"
                ));
            }
            let relative = self.stack[*start + 1..].join("/");
            service.nodes.push(Node { path: relative, attributes, text: String::new() });
        } else if name == "SERVICE" && depth >= 2 {
            let parent = self.stack[..depth].join("/");
            let in_delete = parent.ends_with("UPDATE_CATALOG/DELETE");
            let nth = {
                let count = &mut self.counts[depth];
                *count += 1;
                *count
            };
            let mode = match attribute("mode").as_deref().map(str::trim) {
                Some("delete") => Mode::Delete,
                Some("update") => Mode::Update,
                _ if in_delete => Mode::Delete,
                _ => Mode::New,
            };
            let path = format!("/{parent}/SERVICE[{nth}]");
            self.service = Some((depth, Service { path, mode, nodes: Vec::new() }));
        }
        Ok(())
    }

    fn text(&mut self, text: &str) -> Result<(), String> {
        if let Some((_, service)) = &mut self.service
            && let Some(node) = service.nodes.last_mut()
        {
            if node.text.len() + text.len() > MAX_TEXT_BYTES {
                return Err("ein Textfeld ist länger als 1 MB".into());
            }
            node.text.push_str(text);
        }
        Ok(())
    }
}

impl Iterator for Reader {
    type Item = Result<Item, Fatal>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(item) = self.queued.take() {
            return Some(Ok(item));
        }
        if self.done {
            return None;
        }
        loop {
            self.buffer.clear();
            let event = match self.xml.read_event_into(&mut self.buffer) {
                Ok(event) => event.into_owned(),
                Err(err) => {
                    let at = self.xml.error_position();
                    let message = match &err {
                        quick_xml::Error::Io(io) => io.to_string(),
                        other => format!("kein wohlgeformtes XML (bei Byte {at}): {other}"),
                    };
                    return self.fatal(message);
                }
            };
            match event {
                Event::Start(element) => {
                    if let Err(message) = self.start(&element) {
                        return self.fatal(message);
                    }
                }
                Event::End(_) => {
                    let depth = self.stack.len();
                    let finished = matches!(&self.service, Some((start, _)) if *start + 1 == depth);
                    self.stack.pop();
                    if finished && let Some((_, service)) = self.service.take() {
                        let mut items = map(&service).into_iter();
                        let first = items.next();
                        self.queued = items.next();
                        if let Some(first) = first {
                            return Some(Ok(first));
                        }
                    }
                }
                Event::Text(text) => {
                    let text = match text.unescape() {
                        Ok(text) => text.into_owned(),
                        Err(err) => return self.fatal(format!("ungültiger Text: {err}")),
                    };
                    if let Err(message) = self.text(&text) {
                        return self.fatal(message);
                    }
                }
                Event::CData(data) => {
                    let text = String::from_utf8_lossy(&data).into_owned();
                    if let Err(message) = self.text(&text) {
                        return self.fatal(message);
                    }
                }
                Event::DocType(_) => {
                    // Entities a DOCTYPE could declare are refused by the parser; the DOCTYPE itself is harmless.
                }
                Event::Eof => {
                    self.done = true;
                    if !self.stack.is_empty() {
                        let open = self.stack.last().cloned().unwrap_or_default();
                        return self.fatal(format!(
                            "die Datei endet mitten im Element {open}: sie ist unvollständig"
                        ));
                    }
                    if self.head.is_none() {
                        self.head = None;
                        return Some(Err(Fatal {
                            path: "/OPENQCAT".into(),
                            message:
                                "weder NEW_CATALOG noch UPDATE_CATALOG: die Datei enthält keinen Katalog"
                                    .into(),
                        }));
                    }
                    return None;
                }
                _ => {}
            }
        }
    }
}

impl CatalogueReader for Reader {
    fn head(&self) -> Option<Head> {
        self.head.clone()
    }
}

/// A `SERVICE` as the items it gives: an offer (and its own run, when it has dates), or a run.
fn map(service: &Service) -> Vec<Item> {
    let Some(key) = service.text("PRODUCT_ID").map(str::to_owned) else {
        let mut check = Checker::new(None);
        check.error(
            &service.at("PRODUCT_ID"),
            "PRODUCT_ID fehlt: ohne sie lässt sich der Datensatz nicht zuordnen",
        );
        return vec![Item {
            key: None,
            is_offer: true,
            implicit: false,
            path: service.path.clone(),
            record: Err(check.errors),
            warnings: Vec::new(),
        }];
    };
    if service.mode == Mode::Delete {
        let record = OfferRecord {
            key: key.clone(),
            mode: Mode::Delete,
            fields: CourseFields::default(),
            classification: None,
            skill_text: String::new(),
        };
        return vec![Item {
            key: Some(key),
            is_offer: true,
            implicit: false,
            path: service.path.clone(),
            record: Ok(Record::Offer(record)),
            warnings: Vec::new(),
        }];
    }
    let education = service.first(EDUCATION);
    let course_id = service.text(&format!("{EDUCATION}/COURSE_ID"));
    let is_offer = match education.and_then(|e| e.attribute("type")).map(str::trim) {
        Some("true" | "1") => true,
        Some("false" | "0") => false,
        _ => course_id.is_none_or(|c| c == key),
    };
    if is_offer {
        let mut items = vec![offer(service, &key)];
        if service.text(&format!("{DETAILS}/SERVICE_DATE/START_DATE")).is_some() {
            let mut own = run(service, &key, &key);
            own.implicit = true;
            items.push(own);
        }
        items
    } else {
        match course_id {
            Some(offer_key) => vec![run(service, &key, offer_key)],
            None => {
                let mut check = Checker::new(Some(&key));
                check.error(
                    &service.at(&format!("{EDUCATION}/COURSE_ID")),
                    "eine Veranstaltung braucht COURSE_ID: die PRODUCT_ID ihres Angebots",
                );
                let errors = check.errors;
                vec![Item {
                    key: Some(key),
                    is_offer: false,
                    implicit: false,
                    path: service.path.clone(),
                    record: Err(errors),
                    warnings: Vec::new(),
                }]
            }
        }
    }
}

fn offer(service: &Service, key: &str) -> Item {
    let mut check = Checker::new(Some(key));
    let mut fields = CourseFields::default();
    let at = |p: &str| service.at(p);
    let title = service
        .text(&format!("{DETAILS}/TITLE"))
        .map(|t| shorten(&mut check, &at(&format!("{DETAILS}/TITLE")), t, 200));
    fields.title = check.text(&at(&format!("{DETAILS}/TITLE")), title.as_deref(), 3, 200);
    // KURSNET allows 30 000 characters of HTML; the platform keeps 20 000 of plain text.
    let description = service.text(&format!("{DETAILS}/DESCRIPTION_LONG")).map(html_to_text);
    let description =
        description.map(|d| shorten(&mut check, &at(&format!("{DETAILS}/DESCRIPTION_LONG")), &d, 20_000));
    fields.description = Some(description.unwrap_or_default());
    let keywords: Vec<String> =
        service.all(&format!("{DETAILS}/KEYWORD")).into_iter().map(|n| n.text.clone()).collect();
    fields.keywords = Some(check.keywords(&at(&format!("{DETAILS}/KEYWORD")), keywords));
    let groups: Vec<&str> = service
        .all(&format!("{DETAILS}/TARGET_GROUP/TARGET_GROUP_TEXT"))
        .into_iter()
        .map(|n| n.text.trim())
        .filter(|t| !t.is_empty())
        .collect();
    let groups = groups.join("\n");
    fields.target_group = Some(
        check
            .text(&at(&format!("{DETAILS}/TARGET_GROUP/TARGET_GROUP_TEXT")), Some(&groups), 0, 2_000)
            .unwrap_or_default(),
    );
    fields.prerequisites = Some(
        check
            .text(
                &at(&format!("{DETAILS}/REQUIREMENTS")),
                service.text(&format!("{DETAILS}/REQUIREMENTS")),
                0,
                2_000,
            )
            .unwrap_or_default(),
    );
    degree(service, &mut check, &mut fields);
    let languages: Vec<(String, &Node)> = service
        .all(&format!("{INFO}/TEACHING_LANGUAGES"))
        .into_iter()
        .map(|n| (n.text.trim().to_lowercase(), n))
        .collect();
    if !languages.is_empty() {
        let mut codes = Vec::new();
        for (code, _) in &languages {
            match codes::language(code) {
                Some(iso) if !codes.contains(&iso.to_owned()) => codes.push(iso.to_owned()),
                Some(_) => {}
                None => check.warn(
                    &at(&format!("{INFO}/TEACHING_LANGUAGES")),
                    format!("Sprachcode „{code}“ ist unbekannt und wurde ausgelassen"),
                ),
            }
        }
        if !codes.is_empty() {
            fields.languages = Some(codes);
        }
    }
    fields.format = instruction_form(service, &mut check).map(|(format, _)| format);
    fields.schedule = instruction_time(service, &mut check);
    if let Some(flag) = service.text(&format!("{INFO}/INHOUSE_SEMINAR")) {
        fields.inhouse_possible = check.flag(&at(&format!("{INFO}/INHOUSE_SEMINAR")), Some(flag));
    }
    fields.funding_options = Some(funding(service, &mut check));
    // The BA's Maßnahmenummer; else, for an approved measure (CERTIFICATE_STATUS 1), its certificate's number.
    let approved = service.text(&format!("{EDUCATION}/CERTIFICATE/CERTIFICATE_STATUS")) == Some("1");
    let measure = service.text(&format!("{INFO}/MEASURE_NUMBER")).or_else(|| {
        service.text(&format!("{EDUCATION}/CERTIFICATE/CERTIFICATE_NUMBER")).filter(|_| approved)
    });
    fields.azav_measure_number =
        Some(check.text(&at(&format!("{INFO}/MEASURE_NUMBER")), measure, 0, 64).unwrap_or_default());
    fields.price_cents = price(service, &mut check);
    if fields.duration_hours.is_none() {
        let date = |p: &str| {
            service.text(&format!("{DETAILS}/SERVICE_DATE/{p}")).and_then(super::values::parse_date)
        };
        let (start, end) = (date("START_DATE"), date("END_DATE"));
        for path in [
            format!("{COURSE}/DURATION"),
            format!("{DETAILS}/SERVICE_DATE/DATE_REMARKS"),
            format!("{COURSE}/INSTRUCTION_REMARKS"),
        ] {
            if let Some(hours) = service.text(&path).and_then(|t| stated_hours(t, start, end)) {
                check.warn(
                    &at(&path),
                    format!("{hours} Unterrichtsstunden aus dem Text übernommen; bitte prüfen"),
                );
                fields.duration_hours = Some(hours);
                break;
            }
        }
    }
    if let Some(currency) = service.text("SERVICE_PRICE_DETAILS/SERVICE_PRICE/PRICE_CURRENCY") {
        fields.currency = Some(currency.to_owned());
    }
    fields.min_participants = check
        .number(
            &at(&format!("{COURSE}/MIN_PARTICIPANTS")),
            service.text(&format!("{COURSE}/MIN_PARTICIPANTS")),
            1,
            10_000,
        )
        .map(|n| n as i32);
    fields.max_participants = check
        .number(
            &at(&format!("{COURSE}/MAX_PARTICIPANTS")),
            service.text(&format!("{COURSE}/MAX_PARTICIPANTS")),
            1,
            10_000,
        )
        .map(|n| n as i32);
    if let (Some(min), Some(max)) = (fields.min_participants, fields.max_participants)
        && min > max
    {
        check.error(
            &at(&format!("{COURSE}/MIN_PARTICIPANTS")),
            "MIN_PARTICIPANTS ist größer als MAX_PARTICIPANTS",
        );
    }
    fields.rolling_start = check
        .flag(&at(&format!("{COURSE}/FLEXIBLE_START")), service.text(&format!("{COURSE}/FLEXIBLE_START")));
    let classification = classification(service, &mut check);
    let classification_name = service
        .all("SERVICE_CLASSIFICATION/FEATURE/FVALUE")
        .into_iter()
        .map(|n| n.text.trim())
        .collect::<Vec<_>>()
        .join(" | ");
    let skill_text = [
        fields.title.clone().unwrap_or_default(),
        fields.keywords.clone().unwrap_or_default().join(" | "),
        classification_name,
    ]
    .join(" | ");
    let Checker { errors, warnings, .. } = check;
    let record = OfferRecord { key: key.to_owned(), mode: service.mode, fields, classification, skill_text };
    Item {
        key: Some(key.to_owned()),
        is_offer: true,
        implicit: false,
        path: service.path.clone(),
        record: if errors.is_empty() { Ok(Record::Offer(record)) } else { Err(errors) },
        warnings,
    }
}

fn run(service: &Service, key: &str, offer_key: &str) -> Item {
    let mut check = Checker::new(Some(key));
    let at = |p: &str| service.at(p);
    let date = format!("{DETAILS}/SERVICE_DATE");
    let start = check.date(&at(&format!("{date}/START_DATE")), service.text(&format!("{date}/START_DATE")));
    let end = check.date(&at(&format!("{date}/END_DATE")), service.text(&format!("{date}/END_DATE")));
    if service.text(&format!("{date}/START_DATE")).is_none() {
        check.error(&at(&format!("{date}/START_DATE")), "eine Veranstaltung braucht ihren Beginn");
    }
    let end = match (start, end) {
        (Some(_), None) if service.text(&format!("{date}/END_DATE")).is_none() => {
            check.warn(&at(&format!("{date}/END_DATE")), "ohne Ende: der Termin gilt als eintägig");
            start
        }
        (Some(s), Some(e)) if e < s => {
            check.error(&at(&format!("{date}/END_DATE")), "das Ende liegt vor dem Beginn");
            None
        }
        (_, end) => end,
    };
    let mut fields = OfferingFields::default();
    let deadline = check.date(
        &at(&format!("{EDUCATION}/REGISTRATION_DATE")),
        service.text(&format!("{EDUCATION}/REGISTRATION_DATE")),
    );
    fields.signup_deadline = Some(match (deadline, start) {
        (Some(d), Some(s)) if d > s => {
            check.warn(
                &at(&format!("{EDUCATION}/REGISTRATION_DATE")),
                "der Anmeldeschluss liegt nach dem Beginn und wurde ausgelassen",
            );
            None
        }
        (d, _) => d,
    });
    fields.rolling_start = check
        .flag(&at(&format!("{COURSE}/FLEXIBLE_START")), service.text(&format!("{COURSE}/FLEXIBLE_START")));
    let remarks: Vec<&str> = [
        service.text(&format!("{date}/DATE_REMARKS")),
        service.text(&format!("{COURSE}/INSTRUCTION_REMARKS")),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut remarks = remarks.join(" — ");
    if remarks.chars().count() > 500 {
        check.warn(&at(&format!("{date}/DATE_REMARKS")), "Bemerkungen zum Termin auf 500 Zeichen gekürzt");
        remarks = remarks.chars().take(499).collect::<String>() + "…";
    }
    fields.schedule_details = Some(remarks);
    let online = instruction_form(service, &mut Checker::new(Some(key)))
        .is_some_and(|(format, _)| format == CourseFormat::Online);
    let location = format!("{COURSE}/LOCATION");
    let has_place = service.text(&format!("{location}/CITY")).is_some()
        || service.text(&format!("{location}/ZIP")).is_some();
    // An online run with a place (the provider's address, say) is read as held there.
    fields.online = Some(online && !has_place);
    if !online || has_place {
        let venue = check.venue(
            &at(&location),
            service.text(&format!("{location}/STREET")),
            service.text(&format!("{location}/ZIP")),
            service.text(&format!("{location}/CITY")),
        );
        if venue.city.is_none() && !online {
            check.error(
                &at(&format!("{location}/CITY")),
                "eine Präsenzveranstaltung braucht ihren Ort (CITY oder eine bekannte ZIP)",
            );
        }
        fields.venue = Some(venue);
        fields.online = Some(false);
    }
    let seats = check
        .number(
            &at(&format!("{COURSE}/MAX_PARTICIPANTS")),
            service.text(&format!("{COURSE}/MAX_PARTICIPANTS")),
            0,
            100_000,
        )
        .map(|n| n as i32);
    fields.seats_total = seats;
    fields.seats_available = seats;
    fields.price_cents_override = Some(price(service, &mut check));
    let funding = funding(service, &mut check);
    let Checker { errors, warnings, .. } = check;
    let record = RunRecord {
        key: key.to_owned(),
        offer_key: offer_key.to_owned(),
        mode: service.mode,
        start,
        end,
        fields,
        funding,
    };
    Item {
        key: Some(key.to_owned()),
        is_offer: false,
        implicit: false,
        path: service.path.clone(),
        record: if errors.is_empty() { Ok(Record::Run(record)) } else { Err(errors) },
        warnings,
    }
}

/// `text` cut to `max` characters (ending in „…“), with a warning when it was longer.
fn shorten(check: &mut Checker<'_>, path: &str, text: &str, max: usize) -> String {
    let length = text.chars().count();
    if length <= max {
        return text.to_owned();
    }
    check.warn(path, format!("auf {max} Zeichen gekürzt (die Datei hat {length})"));
    text.chars().take(max - 1).chain(std::iter::once('…')).collect()
}

/// A description as plain text: KURSNET's `DESCRIPTION_LONG` may hold HTML (escaped or in CDATA);
/// tags become line breaks where they end a block, list items bullets, the usual entities their
/// characters. Text without tags stays as it is.
pub fn html_to_text(text: &str) -> String {
    const TAGS: [&str; 12] =
        ["<p>", "<p ", "<br", "<li", "<ul", "<ol", "<div", "<strong", "<b>", "<em>", "<h", "</"];
    let lower = text.to_ascii_lowercase();
    if !TAGS.iter().any(|t| lower.contains(t)) {
        return wiki_to_text(text.trim());
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('>') else {
            out.push_str(&rest[open..]);
            rest = "";
            break;
        };
        let tag = rest[open + 1..open + close].trim().to_ascii_lowercase();
        let name: String =
            tag.trim_start_matches('/').chars().take_while(char::is_ascii_alphanumeric).collect();
        match name.as_str() {
            "br" | "p" | "div" | "ul" | "ol" | "tr" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                out.push('\n')
            }
            "li" if !tag.starts_with('/') => out.push_str("\n• "),
            _ => {}
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    let decoded = out
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    let mut lines: Vec<&str> = Vec::new();
    for line in decoded.lines().map(str::trim) {
        if line.is_empty() && lines.last().is_none_or(|l| l.is_empty()) {
            continue;
        }
        lines.push(line);
    }
    lines.join("\n").trim().to_owned()
}

/// KURSNET's own markup in plain descriptions, as its entry form writes it: `!`/`!!` headings,
/// `*`/`**` bullets, `#` numbered items. Text without such lines stays as it is.
pub fn wiki_to_text(text: &str) -> String {
    fn item<'a>(line: &'a str, mark: &str) -> Option<&'a str> {
        line.strip_prefix(mark).filter(|rest| rest.starts_with(' ')).map(str::trim)
    }
    let heading = |t: &str| {
        t.starts_with('!') && t.trim_start_matches('!').starts_with(|c: char| c.is_alphanumeric() || c == ' ')
    };
    let marked = text
        .lines()
        .map(str::trim_start)
        .any(|t| item(t, "*").is_some() || item(t, "**").is_some() || item(t, "#").is_some() || heading(t));
    if !marked {
        return text.to_owned();
    }
    let mut number = 0;
    let mut lines = Vec::new();
    for line in text.lines() {
        let t = line.trim_start();
        if let Some(rest) = item(t, "**") {
            lines.push(format!("  ◦ {rest}"));
        } else if let Some(rest) = item(t, "*") {
            number = 0;
            lines.push(format!("• {rest}"));
        } else if let Some(rest) = item(t, "#") {
            number += 1;
            lines.push(format!("{number}. {rest}"));
        } else if heading(t) {
            number = 0;
            lines.push(t.trim_start_matches('!').trim().to_owned());
        } else {
            number = 0;
            lines.push(line.to_owned());
        }
    }
    lines.join("\n")
}

/// The price; 0 with a remark „auf Anfrage“ says the price is not published, not that the course
/// is free, so it is left unset.
fn price(service: &Service, check: &mut Checker<'_>) -> Option<i64> {
    let path = "SERVICE_PRICE_DETAILS/SERVICE_PRICE/PRICE_AMOUNT";
    let amount = check.price(&service.at(path), service.text(path));
    let on_request = service
        .nodes
        .iter()
        .filter(|n| n.path.starts_with("SERVICE_PRICE_DETAILS"))
        .any(|n| n.text.to_lowercase().contains("anfrage"));
    if amount == Some(0) && on_request {
        check.warn(&service.at(path), "Preis „auf Anfrage“: ohne Preis übernommen, nicht als kostenfrei");
        return None;
    }
    amount
}

/// Hours a text states for the whole course („120 UStd.“, „40 Unterrichtsstunden“); per week or
/// per day („40 h / Woche“, „8 Std. täglich“) they count over the dates from `start` to `end`.
pub fn stated_hours(
    text: &str,
    start: Option<chrono::NaiveDate>,
    end: Option<chrono::NaiveDate>,
) -> Option<i32> {
    use chrono::Datelike;
    const UNITS: [&str; 7] = ["unterrichtsstunden", "zeitstunden", "ustd", "stunden", "std", "ue", "h"];
    let lower = text.to_lowercase();
    let bytes = lower.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit()
            || (i > 0 && (bytes[i - 1].is_ascii_digit() || bytes[i - 1] == b'.' || bytes[i - 1] == b','))
        {
            i += 1;
            continue;
        }
        let digits: String = lower[i..].chars().take_while(char::is_ascii_digit).collect();
        let after = lower[i + digits.len()..].trim_start();
        let unit = UNITS
            .iter()
            .find(|u| after.starts_with(**u) && !after[u.len()..].starts_with(char::is_alphabetic));
        i += digits.len().max(1);
        let (Some(unit), Ok(n)) = (unit, digits.parse::<i32>()) else { continue };
        let rest: String = after[unit.len()..].chars().take(24).collect();
        let weekly = ["woche", "wöchentlich", "/ w", "/w"].iter().any(|w| rest.contains(w));
        let daily = ["tag", "täglich"].iter().any(|w| rest.contains(w));
        if !(1..=10_000).contains(&n) {
            continue;
        }
        return match (weekly, daily, start, end) {
            (false, false, _, _) => Some(n),
            (true, _, Some(s), Some(e)) if e >= s => Some(n * ((e - s).num_days() as i32 / 7 + 1)),
            (_, true, Some(s), Some(e)) if e >= s => {
                let weekdays = (0..=(e - s).num_days())
                    .filter(|d| (s + chrono::Duration::days(*d)).weekday().number_from_monday() <= 5)
                    .count() as i32;
                Some(n * weekdays)
            }
            _ => None,
        };
    }
    None
}

fn instruction_form(service: &Service, check: &mut Checker<'_>) -> Option<(CourseFormat, u32)> {
    let node = service.first(&format!("{INFO}/INSTRUCTION_FORM"))?;
    let code = node.attribute("type").map(str::trim).unwrap_or_default();
    match code.parse::<u32>().ok().and_then(|c| codes::instruction_form(c).map(|f| (f, c))) {
        Some(found) => Some(found),
        None => {
            check.warn(
                &service.at(&format!("{INFO}/INSTRUCTION_FORM")),
                format!("unbekannte Unterrichtsform {code} („{}“): Präsenz angenommen", node.text.trim()),
            );
            None
        }
    }
}

fn instruction_time(service: &Service, check: &mut Checker<'_>) -> Option<CourseSchedule> {
    let extra =
        service.text(&format!("{INFO}/EXTRA_OCCUPATIONAL")).is_some_and(|v| matches!(v, "true" | "1"));
    if extra {
        return Some(CourseSchedule::ExtraOccupational);
    }
    let self_paced =
        service.first(&format!("{INFO}/INSTRUCTION_FORM")).and_then(|n| n.attribute("type")) == Some("204");
    if self_paced {
        return Some(CourseSchedule::SelfPaced);
    }
    let node = service.first(&format!("{INFO}/INSTRUCTION_TIME"))?;
    let code = node.attribute("type").map(str::trim).unwrap_or_default();
    match code.parse::<u32>().ok().and_then(codes::instruction_time) {
        Some(schedule) => Some(schedule),
        None => {
            check.warn(
                &service.at(&format!("{INFO}/INSTRUCTION_TIME")),
                format!("unbekannte Unterrichtszeit {code} („{}“)", node.text.trim()),
            );
            None
        }
    }
}

fn funding(service: &Service, check: &mut Checker<'_>) -> Vec<FundingOption> {
    let mut out = Vec::new();
    for node in service.all(&format!("{INFO}/FUNDING_TYPES_FEDERAL")) {
        let code = node.attribute("type").map(str::trim).unwrap_or_default();
        match code.parse::<u32>().map(codes::funding) {
            Ok(Some(Some(option))) => {
                if !out.contains(&option) {
                    out.push(option);
                }
            }
            Ok(Some(None)) => {}
            _ => check.warn(
                &service.at(&format!("{INFO}/FUNDING_TYPES_FEDERAL")),
                format!("unbekannte Förderart {code} („{}“) wurde ausgelassen", node.text.trim()),
            ),
        }
    }
    out
}

fn classification(service: &Service, check: &mut Checker<'_>) -> Option<String> {
    let system = service.text("SERVICE_CLASSIFICATION/REFERENCE_CLASSIFICATION_SYSTEM_NAME")?;
    if !system.eq_ignore_ascii_case("Kurssystematik") {
        return None;
    }
    let code = service.text("SERVICE_CLASSIFICATION/FEATURE/FNAME")?;
    if code.chars().count() > 32 {
        check.warn(
            &service.at("SERVICE_CLASSIFICATION/FEATURE/FNAME"),
            "Kurssystematik-Code länger als 32 Zeichen: ausgelassen",
        );
        return None;
    }
    Some(code.to_owned())
}

/// `DEGREE`: the certificate, its examining body, a Zusatzqualifikation, and the DQR level when the
/// degree names an upgrading qualification of the DQR ladder.
fn degree(service: &Service, check: &mut Checker<'_>, fields: &mut CourseFields) {
    let base = format!("{EDUCATION}/DEGREE");
    if service.first(&base).is_none() {
        // An offer without a degree leads to none (a run names no degree: it has its offer's).
        fields.certificate_type = Some(CertificateType::None);
        return;
    }
    let title = service.text(&format!("{base}/DEGREE_TITLE")).unwrap_or_default();
    let kind = service.first(&base).and_then(|n| n.attribute("type")).and_then(|t| t.trim().parse().ok());
    let exam =
        service.first(&format!("{base}/DEGREE_EXAM")).and_then(|n| n.attribute("type")).unwrap_or_default();
    let examiner = service.text(&format!("{base}/DEGREE_EXAM/EXAMINER")).unwrap_or_default();
    fields.certificate_type = Some(codes::certificate(kind, title, exam, examiner));
    if !examiner.is_empty() {
        fields.examining_body =
            check.text(&service.at(&format!("{base}/DEGREE_EXAM/EXAMINER")), Some(examiner), 0, 200);
    }
    if service.text(&format!("{base}/DEGREE_ADD_QUALIFICATION")).is_some() {
        fields.zusatzqualifikation = Some(true);
    }
    if let Some(level) = codes::dqr(title, exam) {
        fields.dqr_level = Some(Some(level));
    }
}

/// The code lists (Wertebereiche) as far as the platform models them.
pub mod codes {
    use super::*;

    /// Unterrichtsform: 1xx Präsenz, 2xx digital, 3xx kombiniert, 4xx Fernunterricht; the legacy
    /// one-digit codes as far as they say it (0 „auf Anfrage“ says nothing).
    pub fn instruction_form(code: u32) -> Option<CourseFormat> {
        match code {
            101..=105 | 1..=3 | 6..=9 => Some(CourseFormat::InPerson),
            201..=206 | 401..=403 | 4 => Some(CourseFormat::Online),
            301..=304 | 5 => Some(CourseFormat::Blended),
            _ => None,
        }
    }

    pub fn instruction_time(code: u32) -> Option<CourseSchedule> {
        match code {
            1 => Some(CourseSchedule::FullTime),
            2 => Some(CourseSchedule::PartTime),
            _ => None,
        }
    }

    /// Förderart bundesweit: `Some(None)` for a listed one the platform does not model (SBB
    /// scholarships, Binnenschifffahrt, Güterkraftverkehr, Transfergesellschaft, KOMPASS,
    /// Arbeitslosengeld bei Weiterbildung, gesundheitliche Beeinträchtigung), `None` for a code the
    /// list does not have.
    pub fn funding(code: u32) -> Option<Option<FundingOption>> {
        match code {
            1 => Some(Some(FundingOption::AufstiegsBafoeg)),
            2 => Some(Some(FundingOption::Bildungsgutschein)),
            8 => Some(Some(FundingOption::Qualifizierungsgeld)),
            // Zuschuss bei der Qualifizierung Beschäftigter (§ 82 SGB III): the QCG.
            11 => Some(Some(FundingOption::Qcg)),
            4..=7 | 9 | 10 | 12 | 13 => Some(None),
            _ => None,
        }
    }

    /// `DEGREE@type` (0 öffentlich anerkannt, 1 Befähigungsnachweis, 2 Industriezertifikat,
    /// 3 anbieterspezifisch) with the exam and examiner, which say which public body.
    pub fn certificate(kind: Option<u32>, title: &str, exam: &str, examiner: &str) -> CertificateType {
        let all = format!("{title} {exam} {examiner}").to_lowercase();
        match kind {
            Some(2) => return CertificateType::IndustryCertificate,
            Some(3) => return CertificateType::ProviderCertificate,
            _ => {}
        }
        if all.contains("ihk") || all.contains("industrie- und handelskammer") {
            CertificateType::IhkExam
        } else if all.contains("hwk") || all.contains("handwerkskammer") {
            CertificateType::HwkExam
        } else if all.contains("hochschul") || all.contains("universit") {
            CertificateType::UniversityCertificate
        } else if all.contains("staatlich") || kind == Some(0) {
            CertificateType::StateRecognised
        } else {
            CertificateType::ProviderCertificate
        }
    }

    /// The DQR level a degree title names: the upgrading qualifications of the Berufsbildungsgesetz
    /// and the Handwerksordnung (Berufsspezialist 5; Bachelor Professional, Meister, Fachwirt,
    /// Techniker 6; Master Professional, Betriebswirt 7) and a vocational qualification (4).
    pub fn dqr(title: &str, exam: &str) -> Option<i32> {
        let t = title.to_lowercase();
        if t.contains("master professional") || t.contains("betriebswirt") {
            Some(7)
        } else if t.contains("bachelor professional")
            || t.contains("meister")
            || t.contains("fachwirt")
            || t.contains("techniker")
            || t.contains("fachkaufm")
        {
            Some(6)
        } else if t.contains("berufsspezialist") {
            Some(5)
        } else if exam.eq_ignore_ascii_case("Berufsabschluss") {
            Some(4)
        } else {
            None
        }
    }

    /// ISO 639-2 (as OpenQCAT writes it) or 639-1 → ISO 639-1.
    pub fn language(code: &str) -> Option<&'static str> {
        const TABLE: &[(&str, &str)] = &[
            ("deu", "de"),
            ("ger", "de"),
            ("eng", "en"),
            ("fra", "fr"),
            ("fre", "fr"),
            ("spa", "es"),
            ("ita", "it"),
            ("pol", "pl"),
            ("rus", "ru"),
            ("tur", "tr"),
            ("ara", "ar"),
            ("ukr", "uk"),
            ("por", "pt"),
            ("nld", "nl"),
            ("dut", "nl"),
            ("ces", "cs"),
            ("cze", "cs"),
            ("ron", "ro"),
            ("rum", "ro"),
            ("hrv", "hr"),
            ("srp", "sr"),
            ("bul", "bg"),
            ("ell", "el"),
            ("gre", "el"),
            ("fas", "fa"),
            ("per", "fa"),
            ("zho", "zh"),
            ("chi", "zh"),
            ("vie", "vi"),
            ("hun", "hu"),
            ("dan", "da"),
            ("swe", "sv"),
            ("nor", "no"),
            ("fin", "fi"),
            ("kur", "ku"),
            ("alb", "sq"),
            ("sqi", "sq"),
            ("bos", "bs"),
            ("jpn", "ja"),
            ("kor", "ko"),
            ("hin", "hi"),
            ("prs", "fa"),
            ("pus", "ps"),
            ("tir", "ti"),
            ("amh", "am"),
            ("som", "so"),
            ("svk", "sk"),
            ("slk", "sk"),
        ];
        let code = code.trim().to_lowercase();
        TABLE.iter().find(|(long, short)| *long == code || *short == code).map(|(_, short)| *short)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::{Problem, Severity};

    fn fixture(name: &str) -> std::fs::File {
        let path = format!("{}/../tests/fixtures/openqcat/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn read(name: &str) -> (Vec<Item>, Option<Fatal>, Option<Head>) {
        let mut reader = Reader::new(fixture(name)).expect("opens");
        let mut items = Vec::new();
        let mut fatal = None;
        for item in reader.by_ref() {
            match item {
                Ok(item) => items.push(item),
                Err(f) => fatal = Some(f),
            }
        }
        (items, fatal, reader.head())
    }

    fn errors(items: &[Item]) -> Vec<Problem> {
        items.iter().filter_map(|i| i.record.as_ref().err()).flatten().cloned().collect()
    }

    #[test]
    fn a_full_catalogue_in_latin9_gives_its_offers_and_runs() {
        let (items, fatal, head) = read("full.xml");
        assert!(fatal.is_none(), "{fatal:?}");
        assert_eq!(head.map(|h| h.kind), Some(CatalogueKind::Full));
        assert!(errors(&items).is_empty(), "{:?}", errors(&items));
        let explicit: Vec<&Item> = items.iter().filter(|i| !i.implicit).collect();
        assert_eq!(explicit.iter().filter(|i| i.is_offer).count(), 5);
        assert_eq!(explicit.iter().filter(|i| !i.is_offer).count(), 9);
        let offers: Vec<&OfferRecord> = items
            .iter()
            .filter_map(|i| match &i.record {
                Ok(Record::Offer(o)) => Some(o),
                _ => None,
            })
            .collect();
        let welding = offers.iter().find(|o| o.key == "BWM-1001").expect("BWM-1001");
        assert!(
            welding.fields.title.as_deref().is_some_and(|t| t.contains("Schweißen")),
            "{:?}",
            welding.fields.title
        );
        let master = offers.iter().find(|o| o.key == "BWM-1004").expect("BWM-1004");
        assert_eq!(master.fields.dqr_level, Some(Some(6)));
        assert_eq!(master.fields.certificate_type, Some(CertificateType::IhkExam));
        let runs: Vec<&RunRecord> = items
            .iter()
            .filter_map(|i| match &i.record {
                Ok(Record::Run(r)) if !i.implicit => Some(r),
                _ => None,
            })
            .collect();
        assert!(runs.iter().all(|r| r.start.is_some() && r.end.is_some()));
        let cologne = runs
            .iter()
            .filter_map(|r| r.fields.venue.as_ref())
            .find(|v| v.city.as_deref() == Some("Köln"))
            .expect("a run in Köln, umlaut decoded");
        assert!(cologne.location.is_some(), "Köln's postal code has coordinates");
        assert!(runs.iter().any(|r| r.fields.online == Some(true)), "the online Excel run");
        assert!(runs.iter().any(|r| r.funding.contains(&FundingOption::Bildungsgutschein)));
    }

    #[test]
    fn html_descriptions_become_plain_text() {
        assert_eq!(
            html_to_text(
                "<p>Inhalte:</p><ul><li>MAG-Schweißen</li><li>Prüfung &amp; Zertifikat</li></ul><p>Ende&nbsp;gut</p>"
            ),
            "Inhalte:\n\n• MAG-Schweißen\n• Prüfung & Zertifikat\n\nEnde gut"
        );
        assert_eq!(html_to_text("  Kein HTML, nur Text mit 3 < 4.  "), "Kein HTML, nur Text mit 3 < 4.");
        assert_eq!(html_to_text("Öfen von > 100 °C bis < 200 °C"), "Öfen von > 100 °C bis < 200 °C");
    }

    #[test]
    fn kursnet_markup_becomes_plain_text() {
        let text = "!! Inhalte\n* SPS-Grundlagen\n** Bitlogik\n# Einführung\n# Projekt\nAm Ende: Prüfung!";
        assert_eq!(
            html_to_text(text),
            "Inhalte\n• SPS-Grundlagen\n  ◦ Bitlogik\n1. Einführung\n2. Projekt\nAm Ende: Prüfung!"
        );
        assert_eq!(html_to_text("Kein Markup: 3 * 4 = 12"), "Kein Markup: 3 * 4 = 12");
    }

    #[test]
    fn hours_are_read_from_the_text_as_totals_or_per_week_and_day() {
        let day = |d| chrono::NaiveDate::from_ymd_opt(2027, 3, d).expect("a March day");
        assert_eq!(stated_hours("Umfang: 120 UStd. in Präsenz", None, None), Some(120));
        assert_eq!(stated_hours("40 Unterrichtsstunden", None, None), Some(40));
        // Monday 1 to Friday 12 March: two weeks, ten weekdays.
        assert_eq!(stated_hours("Gleitzeit, aber 40 h / Woche.", Some(day(1)), Some(day(12))), Some(80));
        assert_eq!(stated_hours("8 Std. pro Tag", Some(day(1)), Some(day(12))), Some(80));
        assert_eq!(stated_hours("8 Std. pro Tag", None, None), None);
        assert_eq!(stated_hours("Raum 12, 2. Etage", None, None), None);
    }

    #[test]
    fn a_delta_deletes_first_then_replaces() {
        let (items, fatal, head) = read("delta.xml");
        assert!(fatal.is_none(), "{fatal:?}");
        assert_eq!(head, Some(Head { kind: CatalogueKind::Delta, sequence: Some(2), supplier: None }));
        let deletions: Vec<&str> = items
            .iter()
            .filter_map(|i| match &i.record {
                Ok(Record::Offer(o)) if o.mode == Mode::Delete => Some(o.key.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(deletions, ["BWM-1003", "BWM-1002-T02"]);
        assert!(errors(&items).is_empty(), "{:?}", errors(&items));
    }

    #[test]
    fn broken_files_are_refused_or_reported() {
        let (_, fatal, _) = read("broken/malformed.xml");
        assert!(fatal.is_some_and(|f| f.message.contains("wohlgeformt")));
        let (_, fatal, _) = read("broken/wrong-encoding.xml");
        let fatal = fatal.expect("wrong encoding is fatal");
        assert!(fatal.message.contains("UTF-8"), "{fatal:?}");
        let (_, fatal, _) = read("broken/both-catalogs.xml");
        assert!(fatal.is_some_and(|f| f.message.contains("NEW_CATALOG und UPDATE_CATALOG")));
        let (items, fatal, _) = read("broken/bad-values.xml");
        assert!(fatal.is_none(), "{fatal:?}");
        let problems: Vec<Problem> =
            errors(&items).into_iter().chain(items.iter().flat_map(|i| i.warnings.clone())).collect();
        let said = |needle: &str| problems.iter().any(|p| p.message.contains(needle));
        assert!(said("12,5o"), "{problems:?}");
        assert!(said("31.02.2026"), "{problems:?}");
        assert!(said("2026-13-01"), "{problems:?}");
        assert!(
            problems.iter().any(|p| p.severity == Severity::Warning && p.message.contains("99")),
            "{problems:?}"
        );
        assert!(problems.iter().any(|p| p.message.contains("777")), "{problems:?}");
        assert!(
            problems.iter().all(|p| p.product_id.is_some() && p.path.starts_with("/OPENQCAT/")),
            "{problems:?}"
        );
    }
}
