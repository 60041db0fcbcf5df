//! The merge dry run's preview page (`--out-dir DIR` → `DIR/index.html`), looked at in a real
//! headless browser (Debian chromium): every row has its card, each inline image loads, and
//! HTML from a data row cannot run script in the page.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::support::write_file as write;
use crate::support::{PYTHON, rmail};

const BROWSER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/support/browser.py");
/// The fixture image: a 40×40 square of exactly this colour.
const IMAGE_COLOUR: &str = "13a45c";
const IMAGE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/fixtures/green.png");
/// What an injected script would paint the page with.
const INJECTED_COLOUR: &str = "ff00ff";

/// What chromium saw: the DOM and how many pixels had each colour asked about.
struct Seen {
    dom: String,
    pixels: serde_json::Map<String, serde_json::Value>,
}

impl Seen {
    fn count(&self, colour: &str) -> u64 {
        self.pixels[colour].as_u64().unwrap()
    }
}

/// Loads `page` in headless chromium (the screenshot goes to `shot`, outside the repo).
fn look(page: &Path, shot: &Path, height: u32, colours: &[&str]) -> Seen {
    let url = format!("file://{}", page.display());
    let out = Command::new(PYTHON)
        .arg(BROWSER)
        .arg(&url)
        .arg(shot)
        .args(["800", &height.to_string()])
        .args(colours)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "browser.py failed (is chromium installed? bash .ci/run installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    Seen {
        dom: json["dom"].as_str().unwrap().to_string(),
        pixels: json["pixels"].as_object().unwrap().clone(),
    }
}

#[test]
fn preview_shows_every_row_with_its_inline_image_and_runs_no_script_from_data() {
    let dir = tempfile::tempdir().unwrap();
    let mail = dir.path().join("mail");
    // `note|safe`: the data's HTML reaches the HTML part unescaped, as a template author
    // may choose; the preview still must not run it.
    write(
        &mail,
        "card.html",
        "+++\n\
         to = \"{{ name }} <{{ email }}>\"\n\
         from = \"Shop <shop@example.com>\"\n\
         subject = \"Hello {{ title }}\"\n\
         inline = { pic = \"pic.png\" }\n\
         attach = [\"files/{{ id }}.txt\"]\n\
         +++\n\
         <html><body><p><img src=\"cid:pic\" width=\"40\" height=\"40\"></p>\
         <p>Dear {{ name }},</p>{{ note|safe }}</body></html>\n",
    );
    write(&mail, "pic.png", fs::read(IMAGE).unwrap());
    let paint = format!("document.body.style.background='#{INJECTED_COLOUR}'");
    write(
        &mail,
        "data.csv",
        format!(
            "id,name,title,email,note\n\
             1,Ann,Ann,ann@example.com,<p>plain</p>\n\
             2,Bo,<script>{paint}</script>,bo@example.com,<script>{paint}</script>\n\
             3,Cy,Cy,cy@example.com,\"<img src=x onerror=\"\"{paint}\"\">\"\n"
        ),
    );
    for id in 1..=3 {
        write(&mail, &format!("files/{id}.txt"), "x".repeat(1500 * id));
    }
    let out = dir.path().join("out");
    rmail()
        .arg("merge")
        .arg(mail.join("card.html"))
        .arg("--data")
        .arg(mail.join("data.csv"))
        .args(["--dry-run", "--out-dir"])
        .arg(&out)
        .run()
        .assert_success();
    let page = out.join("index.html");
    assert!(page.is_file(), "no {}", page.display());

    let shot = dir.path().join("preview.png");
    let seen = look(&page, &shot, 3600, &[IMAGE_COLOUR, INJECTED_COLOUR]);
    // Every row has its card, with subject, envelope, text part and attachment size.
    assert_eq!(seen.dom.matches("<article class=\"card\"").count(), 3);
    for (name, rcpt, size) in [
        ("Ann", "ann@example.com", "1.5 KB"),
        ("&lt;script&gt;", "bo@example.com", "3.0 KB"),
        ("Cy", "cy@example.com", "4.5 KB"),
    ] {
        assert!(
            seen.dom
                .contains(&format!("<h2 class=\"subject\">Hello {name}")),
            "subject of {rcpt}: {}",
            seen.dom
        );
        assert!(
            seen.dom.contains(&format!("&lt;{rcpt}&gt;")),
            "{rcpt}: {}",
            seen.dom
        );
        assert!(seen.dom.contains(size), "{size}: {}", seen.dom);
    }
    assert_eq!(seen.dom.matches("<pre class=\"text\">").count(), 3);
    // The subject from data is text in the page, never an element.
    assert!(!seen.dom.contains("<script>document"), "{}", seen.dom);
    // Each card's HTML part shows the inline image (40×40 of its colour): a broken image
    // would show an icon and the alt text instead.
    let image_pixels = seen.count(IMAGE_COLOUR);
    assert!(
        image_pixels >= 3 * 40 * 40,
        "the inline image shows {image_pixels} pixels, not 3 × 1600 (screenshot {})",
        shot.display()
    );
    // No script from a row ran: nothing painted the page.
    assert_eq!(seen.count(INJECTED_COLOUR), 0, "a row's script ran");
}
