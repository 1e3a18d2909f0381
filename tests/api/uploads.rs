//! `POST /api/v1/uploads`: type from the bytes, image checks, durations, size limits.

use std::{io::Cursor, time::Duration};

use chrono::Utc;
use image::{ImageFormat, RgbImage};
use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait};
use serde_json::Value;
use wangju::service::uploads::sweep_orphans;

use crate::{
    db_test,
    helpers::{Backend, TestApp, spawn_app_with},
    mp4_fixture::{SOUND, VIDEO, movie, mp4_box},
};

pub const BOUNDARY: &str = "----wangju-test-boundary-7MA4YWxkTrZu0gW";

/// A multipart body as wx.uploadFile sends it: a `formData` field, then the file.
pub fn multipart(file_name: &str, content_type: &str, bytes: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"category\"\r\n\r\nslogan\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
         Content-Type: {content_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

pub async fn upload(
    app: &TestApp,
    token: Option<&str>,
    file_name: &str,
    content_type: &str,
    bytes: &[u8],
) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url("/api/v1/uploads"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(multipart(file_name, content_type, bytes));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req.send().await.unwrap()
}

/// Uploads as a fresh user and expects 201.
pub async fn upload_ok(app: &TestApp, file_name: &str, content_type: &str, bytes: &[u8]) -> Value {
    let (token, _) = app.login("alice").await;
    let res = upload(app, Some(&token), file_name, content_type, bytes).await;
    let status = res.status();
    let text = res.text().await.unwrap();
    assert_eq!(status, 201, "{text}");
    serde_json::from_str(&text).unwrap()
}

/// Expects the contract's error body with this status and code.
async fn expect_error(res: reqwest::Response, status: u16, code: &str) -> String {
    assert_eq!(res.status(), status);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], code, "{body}");
    body["error"]["message"].as_str().unwrap().to_owned()
}

/// The storage key of an uploaded file, from its public URL.
pub fn key_of(body: &Value) -> String {
    let url = body["url"].as_str().unwrap();
    url.split_once("/media/").unwrap().1.to_owned()
}

async fn nothing_stored(app: &TestApp) {
    let rows = entity::upload::Entity::find().count(&app.db).await.unwrap();
    assert_eq!(rows, 0, "no upload row");
    assert_eq!(app.media_files(), Vec::<String>::new(), "no stored file");
}

pub fn png(width: u32, height: u32) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    RgbImage::from_pixel(width, height, image::Rgb([200, 30, 30]))
        .write_to(&mut out, ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

/// PNG's CRC-32, so that a doctored header is otherwise valid.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for byte in data {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A phone-like MP4 of `seconds` (timescale 600, as QuickTime writes) with a picture and a
/// sound track, then an `mdat` of `payload` zero bytes.
fn mp4(seconds: u32, payload: usize) -> Vec<u8> {
    movie(
        b"isom",
        600,
        seconds * 600,
        &[VIDEO, SOUND],
        &[],
        Some(payload),
    )
}

/// `frames` silent MPEG-1 Layer III frames (128 kbit/s, 44.1 kHz: 417 bytes, 1152 samples).
pub fn mp3(frames: usize) -> Vec<u8> {
    let mut frame = vec![0u8; 417];
    frame[..4].copy_from_slice(&[0xFF, 0xFB, 0x90, 0x00]);
    frame.repeat(frames)
}

db_test!(a_png_named_mp4_is_stored_as_an_image, |app| async move {
    let (token, person) = app.login("alice").await;
    let bytes = png(64, 32);
    let res = upload(&app, Some(&token), "holiday.mp4", "video/mp4", &bytes).await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["kind"], "image");
    assert_eq!(body["mime"], "image/png");
    assert_eq!(
        (body["width"].as_u64(), body["height"].as_u64()),
        (Some(64), Some(32))
    );
    assert_eq!(body["size"].as_u64(), Some(bytes.len() as u64));
    assert!(body.get("duration_s").is_none(), "{body}");
    let url = body["url"].as_str().unwrap();
    assert!(url.ends_with(".png"), "{url}");

    let row = entity::upload::Entity::find_by_id(body["id"].as_i64().unwrap())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (row.owner_id, row.state),
        (person, entity::upload::UploadState::Ready)
    );
    assert_eq!(
        (row.kind.as_str(), row.mime.as_str()),
        ("image", "image/png")
    );
    assert_eq!(
        (row.width, row.height, row.duration_ms),
        (Some(64), Some(32), None)
    );

    let served = app.client.get(url).send().await.unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(served.bytes().await.unwrap().as_ref(), &bytes[..]);
});

db_test!(
    a_text_file_renamed_jpg_is_refused_and_nothing_is_stored,
    |app| async move {
        let (token, _) = app.login("alice").await;
        let res = upload(
            &app,
            Some(&token),
            "photo.jpg",
            "image/jpeg",
            b"Dear committee, this is really a text file.\n",
        )
        .await;
        expect_error(res, 415, "unsupported_media").await;
        nothing_stored(&app).await;
    }
);

db_test!(
    a_png_header_declaring_30000_by_30000_is_refused_without_decoding,
    |app| async move {
        let (token, _) = app.login("alice").await;
        // A 1×1 PNG whose header claims 30,000 × 30,000: 3.6 GB of pixels if decoded.
        let mut bomb = png(1, 1);
        bomb[16..20].copy_from_slice(&30_000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&30_000u32.to_be_bytes());
        let crc = crc32(&bomb[12..29]);
        bomb[29..33].copy_from_slice(&crc.to_be_bytes());
        let res = upload(&app, Some(&token), "big.png", "image/png", &bomb).await;
        let message = expect_error(res, 415, "unsupported_media").await;
        assert!(message.contains("30000×30000"), "{message}");
        nothing_stored(&app).await;
    }
);

db_test!(
    an_image_with_gps_exif_comes_back_without_it,
    |app| async move {
        let mut out = Cursor::new(Vec::new());
        RgbImage::new(16, 16)
            .write_to(&mut out, ImageFormat::Jpeg)
            .unwrap();
        let mut jpeg = img_parts::jpeg::Jpeg::from_bytes(out.into_inner().into()).unwrap();
        // A minimal big-endian EXIF block with a GPS IFD pointer and a location string.
        img_parts::ImageEXIF::set_exif(
            &mut jpeg,
            Some(bytes::Bytes::from_static(
                b"MM\0*\0\0\0\x08\0\x01\x88\x25\0\x04\0\0\0\x01\0\0\0\x1aGPS-31.2304N-121.4737E",
            )),
        );
        let with_gps = jpeg.encoder().bytes();
        assert!(with_gps.windows(3).any(|w| w == b"GPS"));

        let body = upload_ok(&app, "IMG_0001.JPG", "image/jpeg", &with_gps).await;
        assert_eq!(body["mime"], "image/jpeg");
        let served = app
            .client
            .get(body["url"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert!(!served.windows(3).any(|w| w == b"GPS"));
        let parsed = img_parts::jpeg::Jpeg::from_bytes(served.clone()).unwrap();
        assert!(img_parts::ImageEXIF::exif(&parsed).is_none());
        assert_eq!(body["size"].as_u64(), Some(served.len() as u64));
    }
);

db_test!(
    mp4_durations_are_read_from_the_container,
    |app| async move {
        let four = upload_ok(&app, "a.mp4", "video/mp4", &mp4(240, 1024)).await;
        assert_eq!(four["kind"], "video");
        assert_eq!(four["mime"], "video/mp4");
        assert_eq!(four["duration_s"].as_f64(), Some(240.0));
        assert!(four.get("width").is_none(), "{four}");
        let two = upload_ok(&app, "b.mov", "video/quicktime", &mp4(120, 1024)).await;
        assert_eq!(two["duration_s"].as_f64(), Some(120.0));

        let row = entity::upload::Entity::find_by_id(four["id"].as_i64().unwrap())
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.duration_ms, Some(240_000));
        assert_eq!(row.kind, "video");
    }
);

db_test!(an_mp4_without_a_movie_header_is_refused, |app| async move {
    let (token, _) = app.login("alice").await;
    let mut broken = mp4_box(b"ftyp", b"isom\0\0\x02\0isomiso2mp41");
    broken.extend(mp4_box(b"mdat", &[0u8; 256]));
    let res = upload(&app, Some(&token), "a.mp4", "video/mp4", &broken).await;
    let message = expect_error(res, 415, "unsupported_media").await;
    assert!(message.contains("视频的时长"), "{message}");
    nothing_stored(&app).await;
});

db_test!(
    a_video_without_a_picture_track_is_refused,
    |app| async move {
        let (token, _) = app.login("alice").await;
        // The container reads (a 240 s movie header) but nothing in it can be watched.
        for handlers in [&[][..], &[SOUND][..]] {
            let hollow = movie(b"isom", 600, 240 * 600, handlers, &[], Some(1024));
            let res = upload(&app, Some(&token), "a.mp4", "video/mp4", &hollow).await;
            let message = expect_error(res, 415, "unsupported_media").await;
            assert!(message.contains("没有视频轨道"), "{message}");
        }
        let silent_m4a = movie(b"M4A ", 44_100, 441_000, &[VIDEO], &[], Some(64));
        let res = upload(&app, Some(&token), "a.m4a", "audio/mp4", &silent_m4a).await;
        let message = expect_error(res, 415, "unsupported_media").await;
        assert!(message.contains("没有音频轨道"), "{message}");
        nothing_stored(&app).await;
    }
);

db_test!(an_mp3_of_ten_seconds_says_so, |app| async move {
    // 383 frames × 1152 samples / 44,100 Hz = 10.005 s.
    let body = upload_ok(&app, "voice.m4a", "audio/x-m4a", &mp3(383)).await;
    assert_eq!(body["kind"], "audio");
    assert_eq!(body["mime"], "audio/mpeg");
    assert_eq!(body["duration_s"].as_f64(), Some(10.0));
});

db_test!(an_image_over_ten_mib_is_too_large, |app| async move {
    let (token, _) = app.login("alice").await;
    // A PNG signature, then junk: refused by size before anything decodes it.
    let mut big = png(1, 1);
    big.resize(10 * 1024 * 1024 + 1, 0);
    let res = upload(&app, Some(&token), "big.png", "image/png", &big).await;
    expect_error(res, 413, "too_large").await;
    nothing_stored(&app).await;
});

async fn over_the_upload_limit_is_413_and_nothing_is_stored(backend: Backend) {
    let Some(app) = spawn_app_with(backend, &[("max_upload_bytes", (64 * 1024).into())]).await
    else {
        return;
    };
    let (token, _) = app.login("alice").await;
    let small = upload(&app, Some(&token), "a.mp4", "video/mp4", &mp4(200, 1024)).await;
    assert_eq!(small.status(), 201);
    // A file of exactly the limit is taken: the limit counts the file, not its envelope.
    let empty = mp4(200, 0).len();
    let exact = mp4(200, 64 * 1024 - empty);
    assert_eq!(exact.len(), 64 * 1024);
    let at_limit = upload(&app, Some(&token), "c.mp4", "video/mp4", &exact).await;
    assert_eq!(at_limit.status(), 201);
    entity::upload::Entity::delete_many()
        .exec(&app.db)
        .await
        .unwrap();
    let before = app.media_files();
    let res = upload(
        &app,
        Some(&token),
        "b.mp4",
        "video/mp4",
        &mp4(200, 100 * 1024),
    )
    .await;
    expect_error(res, 413, "too_large").await;
    let rows = entity::upload::Entity::find().count(&app.db).await.unwrap();
    assert_eq!(rows, 0);
    assert_eq!(app.media_files(), before);
}

/// A chunked body (no Content-Length) is counted as it arrives: over the limit it is a 413 even
/// though the handler only saw its read fail.
async fn a_chunked_body_over_the_limit_is_413(backend: Backend) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let Some(app) = spawn_app_with(backend, &[("max_upload_bytes", (64 * 1024).into())]).await
    else {
        return;
    };
    let (token, _) = app.login("alice").await;
    // An image is allowed 10 MiB, so the body limit (64 KiB and 64 KiB of multipart envelope)
    // is what stops this one.
    let mut big = png(1, 1);
    big.resize(200 * 1024, 0);
    let body = multipart("big.png", "image/png", &big);
    let addr = app.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /api/v1/uploads HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    let mut request = head.into_bytes();
    for chunk in body.chunks(16 * 1024) {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    // The server may answer and close before reading everything.
    let _ = stream.write_all(&request).await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(response.contains("\"too_large\""), "{response}");
    nothing_stored(&app).await;
}

mod a_chunked_body_over_the_limit {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        a_chunked_body_over_the_limit_is_413(Backend::Sqlite).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        a_chunked_body_over_the_limit_is_413(Backend::Postgres).await
    }
}

mod over_the_upload_limit {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        over_the_upload_limit_is_413_and_nothing_is_stored(Backend::Sqlite).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        over_the_upload_limit_is_413_and_nothing_is_stored(Backend::Postgres).await
    }
}

db_test!(uploading_without_a_token_is_401, |app| async move {
    let res = upload(&app, None, "a.png", "image/png", &png(4, 4)).await;
    expect_error(res, 401, "unauthenticated").await;
    let forged = upload(&app, Some("wjs_forged"), "a.png", "image/png", &png(4, 4)).await;
    expect_error(forged, 401, "unauthenticated").await;
    nothing_stored(&app).await;
});

db_test!(a_request_without_a_file_field_is_400, |app| async move {
    let (token, _) = app.login("alice").await;
    let res = app
        .client
        .post(app.url("/api/v1/uploads"))
        .bearer_auth(&token)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n--{BOUNDARY}--\r\n"
        ))
        .send()
        .await
        .unwrap();
    expect_error(res, 400, "bad_request").await;
});

db_test!(the_upload_endpoint_is_documented, |app| async move {
    let spec: Value = app
        .client
        .get(app.url("/docs/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let op = &spec["paths"]["/api/v1/uploads"]["post"];
    assert!(
        op["requestBody"]["content"]["multipart/form-data"].is_object(),
        "{op}"
    );
    assert!(op["responses"]["201"].is_object(), "{op}");
});

/// Makes every insert into `uploads` fail for real, through the app's own connection.
async fn refuse_upload_rows(app: &TestApp) {
    let sql = match app.db.get_database_backend() {
        DbBackend::Sqlite => {
            "CREATE TRIGGER refuse_uploads BEFORE INSERT ON uploads \
             BEGIN SELECT RAISE(ABORT, 'uploads refused by the test'); END;"
        }
        DbBackend::Postgres => {
            "CREATE FUNCTION refuse_uploads() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'uploads refused by the test'; END $$; \
             CREATE TRIGGER refuse_uploads BEFORE INSERT ON uploads \
             FOR EACH ROW EXECUTE FUNCTION refuse_uploads();"
        }
        other => panic!("no test trigger for {other:?}"),
    };
    app.db.execute_unprepared(sql).await.unwrap();
}

db_test!(
    an_upload_whose_row_cannot_be_written_leaves_no_file_behind,
    |app| async move {
        let (token, _) = app.login("alice").await;
        refuse_upload_rows(&app).await;
        // An image (stored from memory) and a recording (streamed from its spool file).
        let image = upload(&app, Some(&token), "a.png", "image/png", &png(8, 8)).await;
        expect_error(image, 500, "internal").await;
        let audio = upload(&app, Some(&token), "a.mp3", "audio/mpeg", &mp3(383)).await;
        expect_error(audio, 500, "internal").await;
        nothing_stored(&app).await;
    }
);

db_test!(
    the_sweep_removes_old_unrecorded_files_and_nothing_else,
    |app| async move {
        let recorded = upload_ok(&app, "a.png", "image/png", &png(8, 8)).await;
        let recorded_key = key_of(&recorded);
        // A file whose row never came (the server died in between), and a file of someone else.
        let orphan = wangju::storage::new_key("png", Utc::now());
        app.store.put(&orphan, png(4, 4).into()).await.unwrap();
        app.store
            .put("notes/readme.txt", "not ours".into())
            .await
            .unwrap();
        let mut everything = vec![
            recorded_key.clone(),
            orphan.clone(),
            "notes/readme.txt".to_owned(),
        ];
        everything.sort();

        // Stored a moment ago: its row may still be on the way, so it stays.
        let hour = Duration::from_secs(3600);
        let swept = sweep_orphans(&app.db, &app.store, hour, Utc::now()).await;
        assert_eq!(swept.unwrap(), 0);
        assert_eq!(app.media_files(), everything);

        // Old enough: the orphan goes, the recorded upload and the foreign file stay.
        let swept = sweep_orphans(&app.db, &app.store, Duration::ZERO, Utc::now()).await;
        assert_eq!(swept.unwrap(), 1);
        everything.retain(|key| *key != orphan);
        assert_eq!(app.media_files(), everything);
        let served = app
            .client
            .get(recorded["url"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(served.status(), 200);
    }
);

db_test!(a_videos_location_is_not_stored, |app| async move {
    // A phone's MP4: the movie header and tracks, then user data with where it was shot.
    let location = mp4_box(
        b"udta",
        &mp4_box(b"\xa9xyz", b"\x00\x12\x15\xc7+31.2304+121.4737/"),
    );
    let video = movie(
        b"isom",
        600,
        200 * 600,
        &[VIDEO, SOUND],
        &location,
        Some(1024),
    );
    assert!(video.windows(8).any(|w| w == b"+31.2304"));

    let body = upload_ok(&app, "trip.mp4", "video/mp4", &video).await;
    assert_eq!(body["duration_s"].as_f64(), Some(200.0));
    let stored = app.store.get(&key_of(&body)).await.unwrap();
    assert_eq!(
        stored.len(),
        video.len(),
        "same size: the box is renamed, not cut"
    );
    assert!(!stored.windows(4).any(|w| w == b"udta"));
    assert!(
        !stored.windows(8).any(|w| w == b"+31.2304"),
        "the location is gone"
    );
});
