//! The one output type: a command's result is one value, printed as its text form or,
//! with `--json`, as pretty JSON on stdout.

use clap::Args;
use serde::Serialize;

/// `--json`, flattened into every command that prints a result.
#[derive(Debug, Clone, Copy, Args)]
pub struct OutputArgs {
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

impl OutputArgs {
    /// The output asked for.
    pub fn output(self) -> Output {
        if self.json {
            Output::Json
        } else {
            Output::Text
        }
    }
}

/// How a command's result is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// The notice on stderr, then the text on stdout.
    Text,
    /// Pretty JSON on stdout, nothing on stderr.
    Json,
}

/// A command's result. Its JSON form is its `Serialize`; its text form is below.
pub trait Report: Serialize {
    /// The text on stdout: whole lines, each ending with a newline (empty for none).
    fn text(&self) -> String {
        String::new()
    }

    /// What was done, one line on stderr before the text (text output only).
    fn notice(&self) -> Option<String> {
        None
    }
}

impl Output {
    /// Print `value` in this form.
    pub fn render(self, value: &impl Report) -> anyhow::Result<()> {
        match self {
            Output::Json => println!("{}", serde_json::to_string_pretty(value)?),
            Output::Text => {
                if let Some(notice) = value.notice() {
                    eprintln!("{notice}");
                }
                print!("{}", value.text());
            }
        }
        Ok(())
    }
}
