//! A provider's catalogue as an OpenQCAT 1.1 full catalogue (`NEW_CATALOG FULLCATALOG="true"`) in
//! ISO-8859-15 — what KURSNET reads, and what [`super::openqcat`] imports: each course an offer
//! (`EDUCATION type="true"`, `COURSE_ID` = its `PRODUCT_ID`), each offering a run pointing to it.
//! A course's `PRODUCT_ID` is its catalogue key when it has one (it was imported), else its id; so
//! exporting, importing into another provider and exporting again gives the same services.
//! Characters ISO-8859-15 lacks are written as character references. Courses are read 200 at a time.

use std::io::Write;

use entity::course::{self, CertificateType, CourseFormat, CourseSchedule, CourseStatus, FundingOption};
use entity::{offering, organization};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::service::json_list;

/// What an export wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Exported {
    pub offers: usize,
    pub runs: usize,
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            // Control characters other than tab and line breaks are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

fn element(out: &mut String, name: &str, text: &str) {
    out.push_str(&format!("<{name}>{}</{name}>", escape(text)));
}

fn coded(out: &mut String, name: &str, code: u32, label: &str) {
    out.push_str(&format!("<{name} type=\"{code}\">{}</{name}>", escape(label)));
}

fn price(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// ISO 639-1 → the three-letter codes of KURSNET's list.
fn language(code: &str) -> &str {
    match code {
        "de" => "deu",
        "en" => "eng",
        "fr" => "fra",
        "nl" => "nld",
        "da" => "dan",
        "no" => "nor",
        "sv" => "swe",
        "pl" => "pol",
        "it" => "ita",
        "cs" => "cze",
        "sk" => "svk",
        "uk" => "ukr",
        "ru" => "rus",
        "es" => "spa",
        _ => "oth",
    }
}

/// Writes the provider's PUBLISHED courses (and DRAFTs with `drafts`) to `out`.
pub async fn export(
    db: &impl ConnectionTrait,
    provider: &organization::Model,
    drafts: bool,
    out: &mut impl Write,
) -> ApiResult<Exported> {
    let io = |e: std::io::Error| ApiError::Internal(e.into());
    let mut head = String::from(
        "<?xml version=\"1.0\" encoding=\"ISO-8859-15\"?>\n<OPENQCAT version=\"1.1\">\n<HEADER>",
    );
    head.push_str("<CATALOG><LANGUAGE>deu</LANGUAGE>");
    element(&mut head, "CATALOG_ID", &provider.slug);
    head.push_str("<CATALOG_VERSION>1</CATALOG_VERSION><CURRENCY>EUR</CURRENCY></CATALOG><SUPPLIER>");
    head.push_str(&format!(
        "<SUPPLIER_ID type=\"supplier_specific\">{}</SUPPLIER_ID>",
        escape(&provider.slug)
    ));
    element(&mut head, "SUPPLIER_NAME", &provider.name);
    head.push_str("<ADDRESS>");
    for (name, value) in
        [("STREET", &provider.street), ("ZIP", &provider.postal_code), ("CITY", &provider.city)]
    {
        if let Some(value) = value {
            element(&mut head, name, value);
        }
    }
    head.push_str("</ADDRESS><EXTENDED_INFO input_type=\"0\"/></SUPPLIER></HEADER>\n<NEW_CATALOG FULLCATALOG=\"true\">\n");
    write(out, &head).map_err(io)?;
    let statuses = if drafts {
        vec![CourseStatus::Published, CourseStatus::Draft]
    } else {
        vec![CourseStatus::Published]
    };
    let mut exported = Exported::default();
    let mut after: Option<Uuid> = None;
    loop {
        let mut select = course::Entity::find()
            .filter(course::Column::ProviderId.eq(provider.id))
            .filter(course::Column::Status.is_in(statuses.clone()))
            .order_by_asc(course::Column::Id)
            .limit(200);
        if let Some(after) = after {
            select = select.filter(course::Column::Id.gt(after));
        }
        let page = select.all(db).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        let ids: Vec<Uuid> = page.iter().map(|c| c.id).collect();
        let runs = offering::Entity::find()
            .filter(offering::Column::CourseId.is_in(ids.clone()))
            .order_by_asc(offering::Column::StartDate)
            .order_by_asc(offering::Column::Id)
            .all(db)
            .await?;
        let mut text = String::new();
        for course in &page {
            let key = course.external_id.clone().unwrap_or_else(|| course.id.to_string());
            offer(&mut text, course, &key);
            exported.offers += 1;
            for run in runs.iter().filter(|r| r.course_id == course.id) {
                let run_key = run.external_id.clone().unwrap_or_else(|| run.id.to_string());
                dated(&mut text, course, run, &key, &run_key);
                exported.runs += 1;
            }
        }
        write(out, &text).map_err(io)?;
    }
    write(out, "</NEW_CATALOG>\n</OPENQCAT>\n").map_err(io)?;
    Ok(exported)
}

fn write(out: &mut impl Write, text: &str) -> std::io::Result<()> {
    // encoding_rs writes what ISO-8859-15 lacks as a numeric character reference.
    let (bytes, _, _) = encoding_rs::ISO_8859_15.encode(text);
    out.write_all(&bytes)
}

fn form_code(format: CourseFormat, schedule: CourseSchedule) -> (u32, &'static str) {
    match (format, schedule) {
        (CourseFormat::Online, CourseSchedule::SelfPaced) => (204, "Selbstlernmodul"),
        (CourseFormat::Online, _) => (201, "Virtuelles Klassenzimmer"),
        (CourseFormat::Blended, _) => (301, "Blended Learning"),
        (CourseFormat::InPerson, _) => (101, "Präsenzunterricht"),
    }
}

/// `EXTENDED_INFO`: form, time, funding, languages, type, measure number.
fn extended_info(out: &mut String, course: &course::Model, online: Option<bool>) {
    out.push_str("<EXTENDED_INFO>");
    coded(out, "INSTITUTION", 105, "Einrichtung der beruflichen Weiterbildung");
    let format = match online {
        Some(true) if course.format == CourseFormat::InPerson => CourseFormat::Online,
        _ => course.format,
    };
    let (code, label) = form_code(format, course.schedule);
    coded(out, "INSTRUCTION_FORM", code, label);
    match course.schedule {
        CourseSchedule::FullTime => coded(out, "INSTRUCTION_TIME", 1, "Vollzeit"),
        CourseSchedule::PartTime | CourseSchedule::ExtraOccupational => {
            coded(out, "INSTRUCTION_TIME", 2, "Teilzeit")
        }
        CourseSchedule::SelfPaced => {}
    }
    if course.inhouse_possible {
        element(out, "INHOUSE_SEMINAR", "true");
    }
    if course.schedule == CourseSchedule::ExtraOccupational {
        element(out, "EXTRA_OCCUPATIONAL", "true");
    }
    for option in json_list::decode::<FundingOption>(&course.funding_options) {
        let code = match option {
            FundingOption::AufstiegsBafoeg => (1, "Aufstiegs-BAföG (AFBG)"),
            FundingOption::Bildungsgutschein => (2, "Bildungsgutschein"),
            FundingOption::Qualifizierungsgeld => (8, "Qualifizierungsgeld"),
            FundingOption::Qcg => (11, "Zuschuss bei der Qualifizierung Beschäftigter"),
            // Regional programmes and educational leave have no federal code.
            FundingOption::RegionalEsf | FundingOption::Bildungsurlaub => continue,
        };
        coded(out, "FUNDING_TYPES_FEDERAL", code.0, code.1);
    }
    for code in json_list::decode::<String>(&course.languages) {
        element(out, "TEACHING_LANGUAGES", language(&code));
    }
    coded(out, "EDUCATION_TYPE", 104, "Fortbildung/Qualifizierung");
    if let Some(number) = &course.azav_measure_number {
        element(out, "MEASURE_NUMBER", number);
    }
    out.push_str("</EXTENDED_INFO>");
}

fn degree(out: &mut String, course: &course::Model) {
    let (kind, exam) = match course.certificate_type {
        CertificateType::None => return,
        CertificateType::IhkExam => (0, "IHK-Prüfung"),
        CertificateType::HwkExam => (0, "HWK-Prüfung"),
        CertificateType::StateRecognised => (0, "Staatliche Prüfung"),
        CertificateType::UniversityCertificate => (0, "Hochschulzertifikat"),
        CertificateType::IndustryCertificate => (2, "Herstellerzertifikat"),
        CertificateType::ProviderCertificate => (3, "Zertifikat des Anbieters"),
    };
    out.push_str(&format!("<DEGREE type=\"{kind}\">"));
    element(out, "DEGREE_TITLE", &course.title);
    out.push_str(&format!("<DEGREE_EXAM type=\"{}\">", escape(exam)));
    if let Some(body) = &course.examining_body {
        element(out, "EXAMINER", body);
    }
    out.push_str("</DEGREE_EXAM>");
    if course.zusatzqualifikation {
        element(out, "DEGREE_ADD_QUALIFICATION", "Zusatzqualifikation");
    }
    out.push_str("</DEGREE>");
}

fn offer(out: &mut String, course: &course::Model, key: &str) {
    out.push_str("<SERVICE>");
    element(out, "PRODUCT_ID", key);
    out.push_str("<COURSE_TYPE>5</COURSE_TYPE><SERVICE_DETAILS>");
    element(out, "TITLE", &course.title);
    if !course.description.is_empty() {
        element(out, "DESCRIPTION_LONG", &course.description);
    }
    if let Some(prerequisites) = &course.prerequisites {
        element(out, "REQUIREMENTS", prerequisites);
    }
    for keyword in json_list::decode::<String>(&course.keywords) {
        element(out, "KEYWORD", &keyword);
    }
    if let Some(group) = &course.target_group {
        out.push_str("<TARGET_GROUP>");
        element(out, "TARGET_GROUP_TEXT", group);
        out.push_str("</TARGET_GROUP>");
    }
    out.push_str("<SERVICE_MODULE><EDUCATION type=\"true\">");
    element(out, "COURSE_ID", key);
    degree(out, course);
    extended_info(out, course, None);
    out.push_str("<MODULE_COURSE>");
    if let Some(min) = course.min_participants {
        element(out, "MIN_PARTICIPANTS", &min.to_string());
    }
    if let Some(max) = course.max_participants {
        element(out, "MAX_PARTICIPANTS", &max.to_string());
    }
    out.push_str("<DURATION type=\"0\"/>");
    element(out, "FLEXIBLE_START", if course.rolling_start { "true" } else { "false" });
    out.push_str("</MODULE_COURSE></EDUCATION></SERVICE_MODULE></SERVICE_DETAILS>");
    if let Some(code) = &course.classification {
        out.push_str("<SERVICE_CLASSIFICATION><REFERENCE_CLASSIFICATION_SYSTEM_NAME>Kurssystematik</REFERENCE_CLASSIFICATION_SYSTEM_NAME><FEATURE>");
        element(out, "FNAME", code);
        element(out, "FVALUE", code);
        out.push_str("</FEATURE></SERVICE_CLASSIFICATION>");
    }
    if let Some(cents) = course.price_cents {
        out.push_str("<SERVICE_PRICE_DETAILS><SERVICE_PRICE>");
        element(out, "PRICE_AMOUNT", &price(cents));
        element(out, "PRICE_CURRENCY", &course.currency);
        out.push_str("</SERVICE_PRICE></SERVICE_PRICE_DETAILS>");
    }
    out.push_str("</SERVICE>\n");
}

fn dated(out: &mut String, course: &course::Model, run: &offering::Model, offer_key: &str, key: &str) {
    out.push_str("<SERVICE>");
    element(out, "PRODUCT_ID", key);
    out.push_str("<COURSE_TYPE>5</COURSE_TYPE><SERVICE_DETAILS><TITLE/><SERVICE_DATE>");
    element(out, "START_DATE", &format!("{}T00:00:00", run.start_date));
    element(out, "END_DATE", &format!("{}T00:00:00", run.end_date));
    out.push_str("</SERVICE_DATE><SERVICE_MODULE><EDUCATION type=\"false\">");
    element(out, "COURSE_ID", offer_key);
    if let Some(deadline) = run.signup_deadline {
        element(out, "REGISTRATION_DATE", &format!("{deadline}T00:00:00"));
    }
    extended_info(out, course, Some(run.online));
    out.push_str("<MODULE_COURSE>");
    element(out, "MAX_PARTICIPANTS", &run.seats_total.to_string());
    if !run.online {
        out.push_str("<LOCATION>");
        for (name, value) in [("STREET", &run.street), ("ZIP", &run.postal_code), ("CITY", &run.city)] {
            if let Some(value) = value {
                element(out, name, value);
            }
        }
        out.push_str("</LOCATION>");
    }
    out.push_str("<DURATION type=\"0\"/>");
    if let Some(details) = &run.schedule_details {
        element(out, "INSTRUCTION_REMARKS", details);
    }
    element(out, "FLEXIBLE_START", if run.rolling_start { "true" } else { "false" });
    out.push_str("</MODULE_COURSE></EDUCATION></SERVICE_MODULE></SERVICE_DETAILS>");
    if let Some(cents) = run.price_cents_override {
        out.push_str("<SERVICE_PRICE_DETAILS><SERVICE_PRICE>");
        element(out, "PRICE_AMOUNT", &price(cents));
        element(out, "PRICE_CURRENCY", &course.currency);
        out.push_str("</SERVICE_PRICE></SERVICE_PRICE_DETAILS>");
    }
    out.push_str("</SERVICE>\n");
}

/// The provider by id, for members (any role); `NOT_FOUND` for others.
pub async fn provider_for(
    db: &impl ConnectionTrait,
    caller: Uuid,
    provider_id: Uuid,
) -> ApiResult<organization::Model> {
    let provider = crate::service::organizations::find(db, provider_id).await?;
    if crate::service::organizations::role_of(db, provider_id, caller).await?.is_none() {
        return Err(ApiError::not_found("organization"));
    }
    Ok(provider)
}
