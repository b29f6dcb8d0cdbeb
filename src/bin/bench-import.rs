//! A large OpenQCAT catalogue imported through the API, measured from outside: the server in its
//! own process in production mode on the embedded defaults (SQLite file, embedded index), then
//! - a generated full catalogue (`--offers` offers with `--runs` dated runs in all, ISO-8859-15,
//!   every course publishable) uploaded with `importCatalogue(publish: true)`: the time to the run's
//!   end, records per second, the server's peak memory (VmHWM) and CPU;
//! - meanwhile a catalogue read every 50 ms: its latencies, so that an import is seen not to block
//!   the API;
//! - the time until search holds every imported course (through the job system);
//! - the same file again: every record unchanged.
//!
//! `cargo run --release --bin bench-import -- --offers 10000 --runs 50000`

#[path = "shared/process.rs"]
#[allow(dead_code)]
mod process;

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use process::{cpu_ns, rss_kib};
use serde_json::{Value, json};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 10_000)]
    offers: usize,
    /// Dated runs in all, spread over the offers.
    #[arg(long, default_value_t = 50_000)]
    runs: usize,
    /// Runs the server from the environment; the benchmark starts itself with it.
    #[arg(long, hide = true)]
    serve: bool,
}

const SECRET: &str = "bench-import-secret-that-is-long-enough-for-hs256";
const PLACES: &[(&str, &str)] = &[
    ("04109", "Leipzig"),
    ("01067", "Dresden"),
    ("07743", "Jena"),
    ("99084", "Erfurt"),
    ("10115", "Berlin"),
    ("20095", "Hamburg"),
    ("50667", "Köln"),
    ("80331", "München"),
    ("70173", "Stuttgart"),
    ("90402", "Nürnberg"),
];
const TOPICS: &[&str] = &[
    "Schweißen MAG",
    "SPS-Programmierung",
    "Praxisanleitung Pflege",
    "Gabelstapler",
    "Excel",
    "Qualitätssicherung",
    "Hydraulik",
    "Lagerlogistik",
    "Projektmanagement",
    "Arbeitssicherheit",
];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.serve {
        return process::serve_from_environment().await;
    }
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("katalog.xml");
    let started = Instant::now();
    generate(&file, args.offers, args.runs)?;
    let size = std::fs::metadata(&file)?.len();
    println!(
        "generated {} offers and {} runs: {:.1} MB in {:.1} s",
        args.offers,
        args.runs,
        size as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut server = Command::new(std::env::current_exe()?)
        .arg("--serve")
        .env("APP_ENV", "production")
        .env("APP_DATA_DIR", dir.path().join("data"))
        .env("APP_BIND", format!("127.0.0.1:{port}"))
        .env("APP_JWT_SECRET", SECRET)
        .env("APP_RATE_LIMIT_ANONYMOUS", "0")
        .env("APP_RATE_LIMIT_USER", "0")
        .env("APP_MAX_UPLOAD_BYTES", (size + 1024 * 1024).to_string())
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .spawn()
        .context("starting the server")?;
    let result = measure(&args, port, server.id(), &file).await;
    server.kill().ok();
    server.wait().ok();
    result
}

async fn measure(args: &Args, port: u16, pid: u32, file: &std::path::Path) -> anyhow::Result<()> {
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder().timeout(Duration::from_secs(300)).build()?;
    process::wait_ready(&client, &base).await?;
    let token = gql(&client, &base, None,
        "mutation($i: RegisterInput!) { register(input: $i) { accessToken } }",
        json!({ "i": { "email": "import@bench.example", "password": "bench-import-geheim-1", "displayName": "Bench" } }),
    )
    .await?["register"]["accessToken"]
        .as_str()
        .context("token")?
        .to_owned();
    let provider = gql(
        &client,
        &base,
        Some(&token),
        "mutation($i: CreateOrganizationInput!) { createOrganization(input: $i) { id } }",
        json!({ "i": { "kind": "PROVIDER", "name": "Bildungswerk Benchmark", "azavCertified": true } }),
    )
    .await?["createOrganization"]["id"]
        .as_str()
        .context("provider")?
        .to_owned();
    let bytes = std::fs::read(file)?;
    for round in ["first import", "same file again"] {
        let cpu_before = cpu_ns(pid)?;
        let probing = Arc::new(AtomicBool::new(true));
        let probe = tokio::spawn(probe(client.clone(), base.clone(), probing.clone()));
        let started = Instant::now();
        let run = upload(&client, &base, &token, &provider, &bytes).await?;
        let id = run["id"].as_str().context("run id")?.to_owned();
        let done = loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let run = gql(&client, &base, Some(&token),
                "query($id: ID!) { importRun(id: $id) { status total processed created updated unchanged deleted failed problems(severity: ERROR) { message } } }",
                json!({ "id": id }),
            )
            .await?["importRun"]
                .clone();
            if run["status"] != "RUNNING" {
                break run;
            }
        };
        let elapsed = started.elapsed();
        probing.store(false, Ordering::Relaxed);
        let mut latencies = probe.await??;
        latencies.sort();
        let records = done["total"].as_f64().unwrap_or_default();
        println!(
            "{round}: {} in {:.1} s ({:.0} records/s): {} records, {} created, {} unchanged, {} failed; server CPU {:.1} s, \
             peak RSS {} MiB; catalogue reads meanwhile: {} answered, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            done["status"],
            elapsed.as_secs_f64(),
            records / elapsed.as_secs_f64(),
            done["total"],
            done["created"],
            done["unchanged"],
            done["failed"],
            (cpu_ns(pid)? - cpu_before) as f64 / 1e9,
            rss_kib(pid, "VmHWM")? / 1024,
            latencies.len(),
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99),
            latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
        );
        if done["status"] != "FINISHED" || done["failed"] != 0 {
            bail!("the import did not go through: {done}");
        }
        if round == "first import" {
            let started = Instant::now();
            loop {
                let hits = gql(
                    &client,
                    &base,
                    None,
                    "{ searchCourses(query: \"Benchmarkkurs\") { totalHits } }",
                    json!({}),
                )
                .await?["searchCourses"]["totalHits"]
                    .as_u64()
                    .unwrap_or_default();
                if hits as usize >= args.offers {
                    break;
                }
                if started.elapsed() > Duration::from_secs(600) {
                    bail!("search held {hits} of {} courses after 600 s", args.offers);
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            println!(
                "search held all {} imported courses {:.1} s after the import's end",
                args.offers,
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}

fn percentile(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * q) as usize].as_secs_f64() * 1000.0
}

async fn probe(
    client: reqwest::Client,
    base: String,
    running: Arc<AtomicBool>,
) -> anyhow::Result<Vec<Duration>> {
    let mut latencies = Vec::new();
    while running.load(Ordering::Relaxed) {
        let started = Instant::now();
        gql(&client, &base, None, "{ courses(first: 5) { edges { node { title } } } }", json!({})).await?;
        latencies.push(started.elapsed());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(latencies)
}

async fn gql(
    client: &reqwest::Client,
    base: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> anyhow::Result<Value> {
    let mut request =
        client.post(format!("{base}/graphql")).json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let body: Value = request.send().await?.json().await?;
    if body.get("errors").is_some() {
        bail!("{query}: {body}");
    }
    Ok(body["data"].clone())
}

async fn upload(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    provider: &str,
    file: &[u8],
) -> anyhow::Result<Value> {
    let boundary = "bench-import-boundary";
    let operations = json!({
        "query": "mutation($input: ImportCatalogueInput!) { importCatalogue(input: $input) { id status } }",
        "variables": { "input": { "providerId": provider, "format": "OPENQCAT", "file": null, "publish": true } },
    });
    let mut body = Vec::with_capacity(file.len() + 1024);
    write!(
        body,
        "--{boundary}\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{operations}\r\n"
    )?;
    write!(
        body,
        "--{boundary}\r\nContent-Disposition: form-data; name=\"map\"\r\n\r\n{{\"0\": [\"variables.input.file\"]}}\r\n"
    )?;
    write!(
        body,
        "--{boundary}\r\nContent-Disposition: form-data; name=\"0\"; filename=\"katalog.xml\"\r\nContent-Type: application/xml\r\n\r\n"
    )?;
    body.extend_from_slice(file);
    write!(body, "\r\n--{boundary}--\r\n")?;
    let answer: Value = client
        .post(format!("{base}/graphql"))
        .bearer_auth(token)
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await?
        .json()
        .await?;
    if answer.get("errors").is_some() {
        bail!("upload: {answer}");
    }
    Ok(answer["data"]["importCatalogue"].clone())
}

/// A full catalogue of publishable courses: each offer with its description, keywords, price,
/// Bildungsgutschein funding with a measure number, and its runs at places across Germany.
fn generate(path: &std::path::Path, offers: usize, runs: usize) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut text = String::with_capacity(8 * 1024);
    let flush = |text: &mut String, out: &mut std::io::BufWriter<std::fs::File>| -> anyhow::Result<()> {
        let (bytes, _, _) = encoding_rs::ISO_8859_15.encode(text);
        out.write_all(&bytes)?;
        text.clear();
        Ok(())
    };
    text.push_str("<?xml version=\"1.0\" encoding=\"ISO-8859-15\"?>\n<OPENQCAT version=\"1.1\">\n<HEADER><CATALOG><LANGUAGE>deu</LANGUAGE><CATALOG_ID>BENCH</CATALOG_ID><CATALOG_VERSION>1</CATALOG_VERSION></CATALOG>\
        <SUPPLIER><SUPPLIER_ID type=\"supplier_specific\">900900</SUPPLIER_ID><SUPPLIER_NAME>Bildungswerk Benchmark</SUPPLIER_NAME></SUPPLIER></HEADER>\n<NEW_CATALOG FULLCATALOG=\"true\">\n");
    for offer in 0..offers {
        let topic = TOPICS[offer % TOPICS.len()];
        text.push_str(&format!(
            "<SERVICE><PRODUCT_ID>A{offer}</PRODUCT_ID><COURSE_TYPE>5</COURSE_TYPE><SERVICE_DETAILS>\
             <TITLE>Benchmarkkurs {topic} Nr. {offer}</TITLE>\
             <DESCRIPTION_LONG>Praxisnahe Weiterbildung {topic} für Fachkräfte: Grundlagen, Übungen und Prüfung, \
             mit Unterlagen und Zertifikat (Kurs {offer}).</DESCRIPTION_LONG>\
             <KEYWORD>{topic}</KEYWORD><KEYWORD>Weiterbildung</KEYWORD>\
             <TARGET_GROUP><TARGET_GROUP_TEXT>Beschäftigte und Arbeitsuchende</TARGET_GROUP_TEXT></TARGET_GROUP>\
             <SERVICE_MODULE><EDUCATION type=\"true\"><COURSE_ID>A{offer}</COURSE_ID>\
             <CERTIFICATE><CERTIFICATE_STATUS>1</CERTIFICATE_STATUS><CERTIFIER_NUMBER>48</CERTIFIER_NUMBER></CERTIFICATE>\
             <EXTENDED_INFO><INSTITUTION type=\"105\">Einrichtung der beruflichen Weiterbildung</INSTITUTION>\
             <INSTRUCTION_FORM type=\"101\">Präsenzunterricht</INSTRUCTION_FORM><INSTRUCTION_TIME type=\"1\">Vollzeit</INSTRUCTION_TIME>\
             <FUNDING_TYPES_FEDERAL type=\"2\">Bildungsgutschein</FUNDING_TYPES_FEDERAL><TEACHING_LANGUAGES>deu</TEACHING_LANGUAGES>\
             <EDUCATION_TYPE type=\"104\">Fortbildung/Qualifizierung</EDUCATION_TYPE><MEASURE_NUMBER>962/{offer:05}/2027</MEASURE_NUMBER></EXTENDED_INFO>\
             <MODULE_COURSE><MIN_PARTICIPANTS>4</MIN_PARTICIPANTS><MAX_PARTICIPANTS>14</MAX_PARTICIPANTS><DURATION type=\"3\"/></MODULE_COURSE>\
             </EDUCATION></SERVICE_MODULE></SERVICE_DETAILS>\
             <SERVICE_PRICE_DETAILS><SERVICE_PRICE><PRICE_AMOUNT>{}.00</PRICE_AMOUNT><PRICE_CURRENCY>EUR</PRICE_CURRENCY></SERVICE_PRICE></SERVICE_PRICE_DETAILS></SERVICE>\n",
            900 + (offer % 40) * 100
        ));
        let per_offer = runs / offers + usize::from(offer < runs % offers);
        for run in 0..per_offer {
            let (zip, city) = PLACES[(offer + run) % PLACES.len()];
            let month = 1 + (offer + run * 3) % 12;
            let day = 1 + (offer * 7 + run) % 20;
            text.push_str(&format!(
                "<SERVICE><PRODUCT_ID>A{offer}-T{run}</PRODUCT_ID><COURSE_TYPE>5</COURSE_TYPE><SERVICE_DETAILS><TITLE/>\
                 <SERVICE_DATE><START_DATE>2027-{month:02}-{day:02}T00:00:00+01:00</START_DATE><END_DATE>2027-{month:02}-{:02}T00:00:00+01:00</END_DATE></SERVICE_DATE>\
                 <SERVICE_MODULE><EDUCATION type=\"false\"><COURSE_ID>A{offer}</COURSE_ID>\
                 <REGISTRATION_DATE>2027-{month:02}-{day:02}T00:00:00+01:00</REGISTRATION_DATE>\
                 <EXTENDED_INFO><INSTITUTION type=\"105\"/><INSTRUCTION_FORM type=\"101\"/><INSTRUCTION_TIME type=\"1\"/>\
                 <FUNDING_TYPES_FEDERAL type=\"2\"/><EDUCATION_TYPE type=\"104\"/></EXTENDED_INFO>\
                 <MODULE_COURSE><MAX_PARTICIPANTS>14</MAX_PARTICIPANTS><LOCATION><NAME>Schulungszentrum</NAME>\
                 <STREET>Hauptstraße {run}</STREET><ZIP>{zip}</ZIP><CITY>{city}</CITY></LOCATION>\
                 <DURATION type=\"3\"/><INSTRUCTION_REMARKS>Mo–Fr 8–16 Uhr</INSTRUCTION_REMARKS></MODULE_COURSE>\
                 </EDUCATION></SERVICE_MODULE></SERVICE_DETAILS></SERVICE>\n",
                day + 5
            ));
        }
        if text.len() > 4 * 1024 {
            flush(&mut text, &mut out)?;
        }
    }
    text.push_str("</NEW_CATALOG>\n</OPENQCAT>\n");
    flush(&mut text, &mut out)?;
    out.flush()?;
    Ok(())
}
