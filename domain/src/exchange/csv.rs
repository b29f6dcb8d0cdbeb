//! The CSV template for small providers: one row per offering (a dated run), the course's columns
//! repeated on each row of a course, as Excel writes CSV in Germany (`;`; UTF-8 with a byte order mark,
//! or Windows-1252 from Excel's plain "CSV", told from the file's start). The columns are documented in the README and in [`COLUMNS`]; unknown columns
//! are ignored with a warning, so a sheet may carry notes of its own.
//!
//! A course is read from the first row of its `angebot_id`; later rows add runs. A row's run key is
//! its `termin_id`, or, when that is empty, `angebot_id@beginn`. `aktion` = `löschen` removes the
//! row's run, or the course when the row has no run. The template never retires what it does not
//! list: it is not a full catalogue.

use std::collections::HashMap;
use std::io::BufReader;

use entity::course::{CertificateType, CourseFormat, CourseSchedule, FundingOption, VatTreatment};

use super::transcode::Utf8;
use super::values::Checker;
use super::{
    CatalogueKind, CatalogueReader, Fatal, Head, Item, Mode, OfferRecord, Problem, Record, RunRecord,
};
use crate::service::courses::{CourseFields, OfferingFields};

/// The template's columns, in its order, with what each holds.
pub const COLUMNS: &[(&str, &str)] = &[
    ("aktion", "leer (anlegen oder ändern) oder „löschen“"),
    ("angebot_id", "Pflicht: Ihre feste Nummer des Kurses"),
    ("titel", "Pflicht in der ersten Zeile eines Kurses: 3–200 Zeichen"),
    ("untertitel", "bis 300 Zeichen"),
    ("beschreibung", "bis 20 000 Zeichen"),
    ("schlagworte", "durch Komma getrennt"),
    ("zielgruppe", "bis 2 000 Zeichen"),
    ("voraussetzungen", "bis 2 000 Zeichen"),
    ("abschluss", "IHK, HWK, staatlich, Hochschule, Hersteller, Anbieter oder keiner"),
    ("pruefende_stelle", "z. B. IHK Leipzig"),
    ("dqr", "DQR-Niveau 1–8"),
    ("zusatzqualifikation", "ja/nein"),
    ("sprachen", "ISO-Codes durch Komma, z. B. de, en"),
    ("dauer_stunden", "Unterrichtsstunden 1–10 000"),
    ("form", "Präsenz, Online oder Blended"),
    ("zeitmodell", "Vollzeit, Teilzeit, berufsbegleitend oder selbstgesteuert"),
    ("preis", "Kurspreis in Euro, z. B. 1.290,00"),
    ("mwst", "inklusive, zuzüglich oder befreit"),
    (
        "foerderung",
        "durch Komma: Bildungsgutschein, Aufstiegs-BAföG, QCG, Qualifizierungsgeld, ESF, Bildungsurlaub",
    ),
    ("azav_nummer", "AZAV-Maßnahmenummer"),
    ("min_teilnehmer", "1–10 000"),
    ("max_teilnehmer", "1–10 000"),
    ("laufender_einstieg", "ja/nein"),
    ("termin_id", "Ihre Nummer des Termins; leer: angebot_id@beginn"),
    ("beginn", "TT.MM.JJJJ"),
    ("ende", "TT.MM.JJJJ"),
    ("anmeldeschluss", "TT.MM.JJJJ"),
    ("online", "ja/nein"),
    ("strasse", "Straße und Hausnummer"),
    ("plz", "fünfstellig; die Koordinaten kommen aus dem PLZ-Verzeichnis"),
    ("ort", "Ort"),
    ("plaetze", "Plätze gesamt"),
    ("freie_plaetze", "freie Plätze"),
    ("termin_preis", "Preis dieses Termins, wenn er vom Kurspreis abweicht"),
    ("zeiten", "z. B. Mo–Fr 8–16 Uhr"),
];

pub struct Reader {
    rows: csv::StringRecordsIntoIter<Utf8<BufReader<std::fs::File>>>,
    columns: HashMap<&'static str, usize>,
    /// Offers seen: key → the line that described it (later rows' course columns are not read).
    offers: HashMap<String, u64>,
    /// The offer of the current row, read before its run.
    queued: Option<Item>,
    /// The sheet row of the last record read (the header is row 1), as Excel numbers rows.
    line: u64,
    /// Problems with the header, reported with the first record.
    header_warnings: Vec<Problem>,
    fatal: bool,
}

impl Reader {
    pub fn new(file: std::fs::File) -> std::io::Result<Self> {
        let mut buffered = BufReader::with_capacity(64 * 1024, file);
        // Excel's "CSV UTF-8" starts with a byte order mark; its plain "CSV" is Windows-1252, told
        // by a start that is not UTF-8 (a character cut at the buffer's end aside).
        let (bom, encoding) = {
            use std::io::BufRead;
            let head = buffered.fill_buf()?;
            let utf8 = match std::str::from_utf8(head) {
                Ok(_) => true,
                Err(e) => e.error_len().is_none() && head.len() - e.valid_up_to() < 4,
            };
            let bom = if head.starts_with(&[0xEF, 0xBB, 0xBF]) { 3 } else { 0 };
            (bom, if utf8 { encoding_rs::UTF_8 } else { encoding_rs::WINDOWS_1252 })
        };
        std::io::BufRead::consume(&mut buffered, bom);
        let utf8 = Utf8::new(buffered, encoding);
        let mut reader = csv::ReaderBuilder::new().delimiter(b';').flexible(true).from_reader(utf8);
        let mut columns = HashMap::new();
        let mut header_warnings = Vec::new();
        let mut fatal = false;
        match reader.headers() {
            Ok(headers) => {
                for (at, name) in headers.iter().enumerate() {
                    let name = name.trim().to_lowercase();
                    match COLUMNS.iter().find(|(c, _)| *c == name) {
                        Some((column, _)) => {
                            columns.insert(*column, at);
                        }
                        None if name.is_empty() => {}
                        None => header_warnings.push(Problem::warning(
                            None,
                            "Zeile 1",
                            format!("Spalte „{name}“ gehört nicht zur Vorlage und wird nicht gelesen"),
                        )),
                    }
                }
            }
            Err(_) => fatal = true,
        }
        Ok(Self {
            rows: reader.into_records(),
            columns,
            offers: HashMap::new(),
            queued: None,
            line: 1,
            header_warnings,
            fatal,
        })
    }

    fn row(&mut self, line: u64, row: &csv::StringRecord) -> Vec<Item> {
        let cell = |name: &str| {
            self.columns.get(name).and_then(|at| row.get(*at)).map(str::trim).filter(|c| !c.is_empty())
        };
        let place = |name: &str| format!("Zeile {line}, Spalte {name}");
        let mut items = Vec::new();
        let Some(offer_key) = cell("angebot_id").map(str::to_owned) else {
            if row.iter().all(|c| c.trim().is_empty()) {
                return items;
            }
            items.push(Item {
                key: None,
                is_offer: true,
                implicit: false,
                path: format!("Zeile {line}"),
                record: Err(vec![Problem::error(None, place("angebot_id"), "angebot_id fehlt")]),
                warnings: Vec::new(),
            });
            return items;
        };
        let delete = match cell("aktion").map(str::to_lowercase).as_deref() {
            None | Some("neu" | "ändern" | "aendern" | "anlegen") => false,
            Some("löschen" | "loeschen") => true,
            Some(other) => {
                items.push(Item {
                    key: Some(offer_key.clone()),
                    is_offer: true,
                    implicit: false,
                    path: format!("Zeile {line}"),
                    record: Err(vec![Problem::error(
                        Some(&offer_key),
                        place("aktion"),
                        format!("unbekannte Aktion „{other}“ (leer oder „löschen“)"),
                    )]),
                    warnings: Vec::new(),
                });
                return items;
            }
        };
        let has_run = cell("termin_id").is_some() || cell("beginn").is_some();
        let first = !self.offers.contains_key(&offer_key);
        if first || (delete && !has_run) {
            self.offers.entry(offer_key.clone()).or_insert(line);
            items.push(self.offer(line, row, &offer_key, delete && !has_run));
        }
        if has_run {
            items.push(self.run(line, row, &offer_key, delete));
        }
        items
    }

    fn offer(&self, line: u64, row: &csv::StringRecord, key: &str, delete: bool) -> Item {
        let cell = |name: &str| {
            self.columns.get(name).and_then(|at| row.get(*at)).map(str::trim).filter(|c| !c.is_empty())
        };
        let place = |name: &str| format!("Zeile {line}, Spalte {name}");
        let mut check = Checker::new(Some(key));
        let mut fields = CourseFields::default();
        if !delete {
            fields.title = check.text(&place("titel"), cell("titel"), 3, 200);
            fields.subtitle =
                Some(check.text(&place("untertitel"), cell("untertitel"), 0, 300).unwrap_or_default());
            fields.description =
                Some(check.text(&place("beschreibung"), cell("beschreibung"), 0, 20_000).unwrap_or_default());
            fields.keywords = Some(check.keywords(
                &place("schlagworte"),
                cell("schlagworte").unwrap_or_default().split(',').map(str::to_owned),
            ));
            fields.target_group =
                Some(check.text(&place("zielgruppe"), cell("zielgruppe"), 0, 2_000).unwrap_or_default());
            fields.prerequisites = Some(
                check.text(&place("voraussetzungen"), cell("voraussetzungen"), 0, 2_000).unwrap_or_default(),
            );
            if let Some(value) = cell("abschluss") {
                fields.certificate_type = match value.to_lowercase().as_str() {
                    "ihk" => Some(CertificateType::IhkExam),
                    "hwk" => Some(CertificateType::HwkExam),
                    "staatlich" => Some(CertificateType::StateRecognised),
                    "hochschule" => Some(CertificateType::UniversityCertificate),
                    "hersteller" => Some(CertificateType::IndustryCertificate),
                    "anbieter" => Some(CertificateType::ProviderCertificate),
                    "keiner" | "kein" => Some(CertificateType::None),
                    _ => {
                        check.error(&place("abschluss"), format!("unbekannter Abschluss „{value}“"));
                        None
                    }
                };
            }
            fields.examining_body = Some(
                check.text(&place("pruefende_stelle"), cell("pruefende_stelle"), 0, 200).unwrap_or_default(),
            );
            if let Some(level) = check.number(&place("dqr"), cell("dqr"), 1, 8) {
                fields.dqr_level = Some(Some(level as i32));
            }
            fields.zusatzqualifikation =
                check.flag(&place("zusatzqualifikation"), cell("zusatzqualifikation"));
            if let Some(languages) = cell("sprachen") {
                let codes: Vec<String> =
                    languages.split(',').map(|l| l.trim().to_lowercase()).filter(|l| !l.is_empty()).collect();
                if codes.iter().all(|c| c.len() == 2 && c.chars().all(|ch| ch.is_ascii_lowercase())) {
                    fields.languages = Some(codes);
                } else {
                    check.error(
                        &place("sprachen"),
                        format!("„{languages}“: Sprachen als ISO-Codes wie de, en"),
                    );
                }
            }
            fields.duration_hours =
                check.number(&place("dauer_stunden"), cell("dauer_stunden"), 1, 10_000).map(|h| h as i32);
            if let Some(value) = cell("form") {
                fields.format = match value.to_lowercase().as_str() {
                    "präsenz" | "praesenz" => Some(CourseFormat::InPerson),
                    "online" => Some(CourseFormat::Online),
                    "blended" | "blended learning" => Some(CourseFormat::Blended),
                    _ => {
                        check.error(
                            &place("form"),
                            format!("unbekannte Form „{value}“ (Präsenz, Online, Blended)"),
                        );
                        None
                    }
                };
            }
            if let Some(value) = cell("zeitmodell") {
                fields.schedule = match value.to_lowercase().as_str() {
                    "vollzeit" => Some(CourseSchedule::FullTime),
                    "teilzeit" => Some(CourseSchedule::PartTime),
                    "berufsbegleitend" => Some(CourseSchedule::ExtraOccupational),
                    "selbstgesteuert" | "selbstlernen" => Some(CourseSchedule::SelfPaced),
                    _ => {
                        check.error(&place("zeitmodell"), format!("unbekanntes Zeitmodell „{value}“"));
                        None
                    }
                };
            }
            fields.price_cents = check.price(&place("preis"), cell("preis"));
            if let Some(value) = cell("mwst") {
                fields.vat = match value.to_lowercase().as_str() {
                    "inklusive" | "inkl." | "inkl" => Some(VatTreatment::Included),
                    "zuzüglich" | "zuzueglich" | "zzgl." | "zzgl" => Some(VatTreatment::Excluded),
                    "befreit" => Some(VatTreatment::Exempt),
                    _ => {
                        check.error(&place("mwst"), format!("„{value}“: inklusive, zuzüglich oder befreit"));
                        None
                    }
                };
            }
            let mut funding = Vec::new();
            for name in
                cell("foerderung").unwrap_or_default().split(',').map(str::trim).filter(|n| !n.is_empty())
            {
                match name.to_lowercase().as_str() {
                    "bildungsgutschein" => funding.push(FundingOption::Bildungsgutschein),
                    "aufstiegs-bafög" | "aufstiegs-bafoeg" | "aufstiegsbafög" => {
                        funding.push(FundingOption::AufstiegsBafoeg)
                    }
                    "qcg" | "qualifizierungschancengesetz" => funding.push(FundingOption::Qcg),
                    "qualifizierungsgeld" => funding.push(FundingOption::Qualifizierungsgeld),
                    "esf" => funding.push(FundingOption::RegionalEsf),
                    "bildungsurlaub" => funding.push(FundingOption::Bildungsurlaub),
                    _ => check.error(&place("foerderung"), format!("unbekannte Förderung „{name}“")),
                }
            }
            fields.funding_options = Some(funding);
            fields.azav_measure_number =
                Some(check.text(&place("azav_nummer"), cell("azav_nummer"), 0, 64).unwrap_or_default());
            fields.min_participants =
                check.number(&place("min_teilnehmer"), cell("min_teilnehmer"), 1, 10_000).map(|n| n as i32);
            fields.max_participants =
                check.number(&place("max_teilnehmer"), cell("max_teilnehmer"), 1, 10_000).map(|n| n as i32);
            if let (Some(min), Some(max)) = (fields.min_participants, fields.max_participants)
                && min > max
            {
                check.error(&place("min_teilnehmer"), "mehr Mindest- als Höchstteilnehmer");
            }
            fields.rolling_start = check.flag(&place("laufender_einstieg"), cell("laufender_einstieg"));
        }
        let skill_text =
            [cell("titel"), cell("schlagworte")].into_iter().flatten().collect::<Vec<_>>().join(" | ");
        let Checker { errors, warnings, .. } = check;
        let record = OfferRecord {
            key: key.to_owned(),
            mode: if delete { Mode::Delete } else { Mode::New },
            fields,
            classification: None,
            skill_text,
        };
        Item {
            key: Some(key.to_owned()),
            is_offer: true,
            implicit: false,
            path: format!("Zeile {line}"),
            record: if errors.is_empty() { Ok(Record::Offer(record)) } else { Err(errors) },
            warnings,
        }
    }

    fn run(&self, line: u64, row: &csv::StringRecord, offer_key: &str, delete: bool) -> Item {
        let cell = |name: &str| {
            self.columns.get(name).and_then(|at| row.get(*at)).map(str::trim).filter(|c| !c.is_empty())
        };
        let place = |name: &str| format!("Zeile {line}, Spalte {name}");
        let key = match cell("termin_id") {
            Some(id) => id.to_owned(),
            None => format!("{offer_key}@{}", cell("beginn").unwrap_or_default()),
        };
        let mut check = Checker::new(Some(&key));
        let start = check.date(&place("beginn"), cell("beginn"));
        let end = check.date(&place("ende"), cell("ende"));
        let mut fields = OfferingFields::default();
        if !delete {
            if start.is_none() && cell("beginn").is_none() {
                check.error(&place("beginn"), "ein Termin braucht seinen Beginn");
            }
            if end.is_none() && cell("ende").is_none() {
                check.error(&place("ende"), "ein Termin braucht sein Ende");
            }
            if let (Some(start), Some(end)) = (start, end)
                && end < start
            {
                check.error(&place("ende"), "das Ende liegt vor dem Beginn");
            }
            let deadline = check.date(&place("anmeldeschluss"), cell("anmeldeschluss"));
            if let (Some(deadline), Some(start)) = (deadline, start)
                && deadline > start
            {
                check.error(&place("anmeldeschluss"), "der Anmeldeschluss liegt nach dem Beginn");
            }
            fields.signup_deadline = Some(deadline);
            fields.online = check.flag(&place("online"), cell("online"));
            let venue = check.venue(&format!("Zeile {line}"), cell("strasse"), cell("plz"), cell("ort"));
            if fields.online != Some(true) && venue.city.is_none() {
                check.error(&place("ort"), "ein Präsenztermin braucht seinen Ort (oder eine bekannte PLZ)");
            }
            fields.venue = Some(venue);
            let seats = check.number(&place("plaetze"), cell("plaetze"), 0, 100_000).map(|n| n as i32);
            let free =
                check.number(&place("freie_plaetze"), cell("freie_plaetze"), 0, 100_000).map(|n| n as i32);
            if let (Some(seats), Some(free)) = (seats, free)
                && free > seats
            {
                check.error(&place("freie_plaetze"), "mehr freie Plätze als Plätze");
            }
            fields.seats_total = seats;
            fields.seats_available = free.or(seats);
            fields.price_cents_override = Some(check.price(&place("termin_preis"), cell("termin_preis")));
            fields.schedule_details =
                Some(check.text(&place("zeiten"), cell("zeiten"), 0, 500).unwrap_or_default());
        }
        let Checker { errors, warnings, .. } = check;
        let record = RunRecord {
            key: key.clone(),
            offer_key: offer_key.to_owned(),
            mode: if delete { Mode::Delete } else { Mode::New },
            start,
            end,
            fields,
            funding: Vec::new(),
        };
        Item {
            key: Some(key),
            is_offer: false,
            implicit: false,
            path: format!("Zeile {line}"),
            record: if errors.is_empty() { Ok(Record::Run(record)) } else { Err(errors) },
            warnings,
        }
    }
}

impl Iterator for Reader {
    type Item = Result<Item, Fatal>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.fatal {
            self.fatal = false;
            return Some(Err(Fatal {
                path: "Zeile 1".into(),
                message: "die Kopfzeile ist nicht lesbar".into(),
            }));
        }
        if let Some(item) = self.queued.take() {
            return Some(Ok(item));
        }
        loop {
            let row = match self.rows.next()? {
                Ok(row) => row,
                Err(err) => {
                    let line = self.line + 1;
                    return Some(Err(Fatal {
                        path: format!("Zeile {line}"),
                        message: format!("die Datei ist kein lesbares CSV in UTF-8: {err}"),
                    }));
                }
            };
            self.line += 1;
            let line = self.line;
            let mut items = self.row(line, &row).into_iter();
            let Some(mut first) = items.next() else { continue };
            if !self.header_warnings.is_empty() {
                first.warnings.append(&mut self.header_warnings);
            }
            self.queued = items.next();
            return Some(Ok(first));
        }
    }
}

impl CatalogueReader for Reader {
    fn head(&self) -> Option<Head> {
        Some(Head { kind: CatalogueKind::Rows, sequence: None, supplier: None })
    }
}

/// The template's header line, for providers to start from.
pub fn template() -> String {
    let mut out = String::from("\u{feff}");
    out.push_str(&COLUMNS.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(";"));
    out.push_str("\r\n");
    out
}
