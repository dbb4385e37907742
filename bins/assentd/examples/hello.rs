//! The benchmark's ceiling: a bare actix-web hello-world on the same runtime settings as
//! `assentd`, measured in the same run by `scripts/load.sh`.
//!
//! `cargo run --release --example hello -- 127.0.0.1:8090 1`

use actix_web::{App, HttpResponse, HttpServer, web};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8090".into());
    let workers: usize = args.next().and_then(|w| w.parse().ok()).unwrap_or(1);
    // The same CPU scheduling policy as the `assentd serve` it is compared with (whose
    // default is `batch`).
    let policy = match std::env::var("ASSENT_CPU_SCHEDULING").as_deref() {
        Ok("normal") => assentd::scheduling::CpuScheduling::Normal,
        _ => assentd::scheduling::CpuScheduling::Batch,
    };
    if let Err(reason) = assentd::scheduling::apply_to_current_thread(policy) {
        eprintln!("hello: {reason}");
    }
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(|| {
            App::new().route(
                "/hello",
                web::get().to(|| async {
                    HttpResponse::Ok().json(serde_json::json!({"hello": "world"}))
                }),
            )
        })
        .workers(workers)
        .bind(addr)?
        .run()
        .await
    })
}
