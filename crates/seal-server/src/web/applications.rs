//! Seal-use application pages: the one-form quick application (draft, documents and
//! submission in one click), my applications and all applications, an application's
//! page (documents, flow progress, grant, the stamping records with their photos, and the
//! actions its `can_*` flags allow), the documents and stamp photos themselves, and the
//! approver's inbox.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::Form;
use seal_app::applications::{ApplicationInput, ApplicationQuery, Scope, Upload};
use seal_app::directory::Page as ListPage;
use seal_app::policy::Principal;
use seal_app::{AppError, RequestContext};
use seal_core::application::{ApplicationStatus, StampKind};
use seal_core::flow::Verdict;
use seal_core::ids::{ApplicationId, DocumentId, PersonId, StampId};
use seal_core::permission::Permission;
use seal_store::ApplicationRecord;
use serde::Deserialize;

use crate::AppState;
use crate::extract::Context;
use crate::web::comparisons::{ComparisonRow, comparison_row};
use crate::web::devices::{StampRow, device_serials, stamp_row};
use crate::web::seals::{Choice, input_to_rfc3339, local_input, local_time, names_of};
use crate::web::{Chrome, FieldErrors, Page, PageError, Pager, Tr, redirect_with_flash, render};

/// The most files one form may carry.
const MAX_FILES: usize = 10;

fn parse_id<T, E>(text: &str, parse: impl Fn(&str) -> Result<T, E>) -> Result<T, PageError> {
    parse(text).map_err(|_| PageError::NotFound)
}

fn status_badge(status: ApplicationStatus) -> &'static str {
    match status {
        ApplicationStatus::Approved | ApplicationStatus::InUse | ApplicationStatus::Completed => {
            "ok"
        }
        ApplicationStatus::Submitted | ApplicationStatus::InReview => "warn",
        _ => "off",
    }
}

fn status_label(t: Tr, status: ApplicationStatus) -> String {
    t.get(&format!("app_status.{}", status.key())).to_owned()
}

// ----- uploads -------------------------------------------------------------------------------

/// A multipart form: its text fields and files, and what was wrong with the files.
#[derive(Default)]
struct Posted {
    fields: Vec<(String, String)>,
    files: Vec<Upload>,
    /// A message for the file input, when a file was refused before reaching the use case.
    file_error: Option<String>,
}

impl Posted {
    fn get(&self, name: &str) -> String {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }
}

/// Whether the bytes start like a PDF, PNG or JPEG (the use case parses them for real).
fn looks_supported(bytes: &[u8]) -> bool {
    bytes.starts_with(b"%PDF-")
        || bytes.starts_with(b"\x89PNG\r\n\x1a\n")
        || bytes.starts_with(&[0xFF, 0xD8, 0xFF])
}

/// Reads a multipart form, holding each file to `max_file` bytes and the whole form to
/// what [`MAX_FILES`] such files need; larger files are refused with a message.
async fn read_posted(t: Tr, mut multipart: Multipart, max_file: usize) -> Posted {
    let mut posted = Posted::default();
    let max_total = max_file
        .saturating_mul(MAX_FILES)
        .saturating_add(1024 * 1024);
    let mut total = 0usize;
    let mb = max_file / (1024 * 1024);
    let too_large = format!("{} {mb} MB.", t.get("applications.file_too_large"));
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(_) => {
                posted.file_error = Some(too_large.clone());
                break;
            }
        };
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().map(str::to_owned);
        let mut data = Vec::new();
        let mut over = false;
        let mut broken = false;
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    total = total.saturating_add(chunk.len());
                    if total > max_total {
                        broken = true;
                        break;
                    }
                    if data.len() + chunk.len() > max_file {
                        over = true;
                    } else if !over {
                        data.extend_from_slice(&chunk);
                    }
                }
                Ok(None) => break,
                Err(_) => {
                    broken = true;
                    break;
                }
            }
        }
        if broken {
            posted.file_error = Some(too_large.clone());
            break;
        }
        match file_name {
            Some(file_name) => {
                if file_name.is_empty() && data.is_empty() {
                    continue;
                }
                if over {
                    posted.file_error = Some(format!("{file_name}: {too_large}"));
                } else if !looks_supported(&data) {
                    posted.file_error = Some(format!(
                        "{file_name}: {}",
                        t.get("applications.file_wrong_type")
                    ));
                } else if posted.files.len() >= MAX_FILES {
                    posted.file_error = Some(t.get("applications.too_many_files").to_owned());
                } else {
                    posted.files.push(Upload {
                        name: file_name,
                        bytes: Bytes::from(data),
                    });
                }
            }
            None => posted
                .fields
                .push((name, String::from_utf8_lossy(&data).into_owned())),
        }
    }
    posted
}

/// Reads a posted form: multipart (with files) or, from clients without files, URL-encoded.
async fn read_form(state: &AppState, t: Tr, request: Request) -> Posted {
    let max = state.app.settings().document_max_bytes;
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if is_multipart {
        match Multipart::from_request(request, state).await {
            Ok(multipart) => read_posted(t, multipart, max).await,
            Err(_) => Posted {
                file_error: Some(t.get("applications.file_wrong_type").to_owned()),
                ..Posted::default()
            },
        }
    } else {
        let bytes = axum::body::to_bytes(request.into_body(), 64 * 1024)
            .await
            .unwrap_or_default();
        Posted {
            fields: url::form_urlencoded::parse(&bytes).into_owned().collect(),
            ..Posted::default()
        }
    }
}

/// Adds the files to a draft, one by one; the first refusal is returned as field errors.
async fn add_files(
    state: &AppState,
    principal: &Principal,
    id: ApplicationId,
    files: Vec<Upload>,
    context: &RequestContext,
) -> Result<Option<FieldErrors>, PageError> {
    for upload in files {
        let name = upload.name.clone();
        if let Err(error) = state.app.add_document(principal, id, upload, context).await {
            let mut errors = FieldErrors::from_app(error, &[("document", "documents")])?;
            let message = errors
                .get("documents")
                .map(str::to_owned)
                .or_else(|| errors.general.take());
            let mut out = FieldErrors::default();
            let message = message.unwrap_or_default();
            out.insert(
                "documents",
                if name.is_empty() {
                    message
                } else {
                    format!("{name}: {message}")
                },
            );
            return Ok(Some(out));
        }
    }
    Ok(None)
}

// ----- the quick form ----------------------------------------------------------------------

#[derive(Clone, Default)]
struct NewForm {
    seal: String,
    stamp_kind: String,
    title: String,
    count: String,
    reason: String,
    from: String,
    until: String,
}

impl NewForm {
    fn of(posted: &Posted) -> NewForm {
        NewForm {
            seal: posted.get("seal"),
            stamp_kind: posted.get("stamp_kind"),
            title: posted.get("title"),
            count: posted.get("count"),
            reason: posted.get("reason"),
            from: posted.get("from"),
            until: posted.get("until"),
        }
    }

    fn input(&self) -> ApplicationInput {
        ApplicationInput {
            seal: self.seal.clone(),
            stamp_kind: self.stamp_kind.clone(),
            title: self.title.clone(),
            reason: self.reason.clone(),
            count: self.count.trim().parse().unwrap_or(0),
            from: input_to_rfc3339(&self.from),
            until: input_to_rfc3339(&self.until),
        }
    }
}

#[derive(Template)]
#[template(path = "application_new.html")]
struct NewPage {
    chrome: Chrome,
    seals: Vec<Choice>,
    stamp_kinds: Vec<Choice>,
    form: NewForm,
    errors: FieldErrors,
    max_mb: usize,
}

async fn new_page(
    state: &AppState,
    page: &Page,
    form: NewForm,
    errors: FieldErrors,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    if !principal
        .permissions
        .contains(Permission::ApplicationsCreate)
    {
        return Err(PageError::Forbidden);
    }
    let t = page.t;
    let seals = state
        .app
        .seals(principal)
        .await?
        .into_iter()
        .filter(|s| s.status.usable())
        .map(|s| (s.id.to_string(), s.name.as_str().to_owned()))
        .collect();
    render(&NewPage {
        chrome: page.chrome("applications.new"),
        seals,
        stamp_kinds: StampKind::ALL
            .iter()
            .map(|k| {
                (
                    k.key().to_owned(),
                    t.get(&format!("stamp_kind.{}", k.key())).to_owned(),
                )
            })
            .collect(),
        form,
        errors,
        max_mb: state.app.settings().document_max_bytes / (1024 * 1024),
    })
}

/// The quick application form.
#[utoipa::path(get, path = "/applications/new", tag = "web", responses((status = 200, description = "HTML page")))]
pub async fn new_application(
    State(state): State<AppState>,
    page: Page,
) -> Result<Response, PageError> {
    let now = state.app.now();
    let form = NewForm {
        stamp_kind: "ordinary".to_owned(),
        count: "1".to_owned(),
        from: local_input(now),
        until: local_input(now.plus_seconds(7 * 86_400)),
        ..NewForm::default()
    };
    new_page(&state, &page, form, FieldErrors::default()).await
}

/// Files an application: creates the draft, adds the documents and (unless saved as a
/// draft) submits it. A step failing after the draft exists shows the draft with the
/// error, so nothing typed or uploaded is lost.
#[utoipa::path(post, path = "/applications", tag = "web", responses((status = 303, description = "Filed"), (status = 200, description = "The form again, with errors")))]
pub async fn create_application(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    request: Request,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let posted = read_form(&state, page.t, request).await;
    let form = NewForm::of(&posted);
    if let Some(message) = posted.file_error.clone() {
        let mut errors = FieldErrors::default();
        errors.insert("documents", message);
        return new_page(&state, &page, form, errors).await;
    }
    let draft_only = posted.get("action") == "draft";
    let application = match state
        .app
        .create_application(principal, &form.input(), &context)
        .await
    {
        Ok(application) => application,
        Err(error) => {
            let errors = FieldErrors::from_app(error, &[])?;
            return new_page(&state, &page, form, errors).await;
        }
    };
    let id = application.id;
    if let Some(errors) = add_files(&state, principal, id, posted.files, &context).await? {
        return detail_page(&state, &page, id, errors).await;
    }
    if draft_only {
        return Ok(redirect_with_flash(
            &format!("/applications/{id}"),
            "flash.application_draft_saved",
            true,
        ));
    }
    match state.app.submit_application(principal, id, &context).await {
        Ok(_) => Ok(redirect_with_flash(
            &format!("/applications/{id}"),
            "flash.application_submitted",
            true,
        )),
        Err(error) => {
            let errors = FieldErrors::from_app(error, &[])?;
            detail_page(&state, &page, id, errors).await
        }
    }
}

// ----- lists ---------------------------------------------------------------------------------

pub struct ApplicationRow {
    pub id: String,
    pub number: String,
    pub title: String,
    pub seal: String,
    pub applicant: String,
    pub status_key: &'static str,
    pub status: String,
    pub at: String,
}

async fn rows_of(
    state: &AppState,
    page: &Page,
    principal: &Principal,
    applications: &[ApplicationRecord],
) -> Vec<ApplicationRow> {
    let t = page.t;
    let seals = state.app.seals(principal).await.unwrap_or_default();
    let names = names_of(
        state,
        principal,
        applications.iter().map(|a| a.applicant).collect(),
    )
    .await;
    applications
        .iter()
        .map(|a| ApplicationRow {
            id: a.id.to_string(),
            number: a.number.as_str().to_owned(),
            title: a.title.as_str().to_owned(),
            seal: seals
                .iter()
                .find(|s| s.id == a.seal)
                .map(|s| s.name.as_str().to_owned())
                .unwrap_or_default(),
            applicant: names.get(&a.applicant).cloned().unwrap_or_default(),
            status_key: status_badge(a.lifecycle.status()),
            status: status_label(t, a.lifecycle.status()),
            at: local_time(a.step_since.or(a.submitted_at).unwrap_or(a.created_at)),
        })
        .collect()
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    q: String,
    page: Option<i64>,
}

#[derive(Template)]
#[template(path = "applications.html")]
struct ListPageTemplate {
    chrome: Chrome,
    base: &'static str,
    all: bool,
    can_create: bool,
    can_read_all: bool,
    rows: Vec<ApplicationRow>,
    statuses: Vec<Choice>,
    status: String,
    q: String,
    pager: Pager,
}

async fn list(
    state: &AppState,
    page: &Page,
    scope: Scope,
    query: ListQuery,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let t = page.t;
    let list_page = ListPage::new(query.page, None);
    let app_query = ApplicationQuery {
        statuses: ApplicationStatus::parse(&query.status)
            .into_iter()
            .collect(),
        text: Some(query.q.trim().to_owned()).filter(|q| !q.is_empty()),
        page: list_page,
    };
    let (applications, total) = state.app.applications(principal, scope, &app_query).await?;
    let all = scope == Scope::All;
    let base = if all {
        "/applications/all"
    } else {
        "/applications"
    };
    render(&ListPageTemplate {
        chrome: page.chrome(if all {
            "applications.all"
        } else {
            "applications.mine"
        }),
        base,
        all,
        can_create: principal
            .permissions
            .contains(Permission::ApplicationsCreate),
        can_read_all: principal
            .permissions
            .contains(Permission::ApplicationsReadAll),
        rows: rows_of(state, page, principal, &applications).await,
        statuses: ApplicationStatus::ALL
            .iter()
            .map(|s| (s.key().to_owned(), status_label(t, *s)))
            .collect(),
        pager: Pager::new(
            base,
            &[("status", &query.status), ("q", &query.q)],
            list_page,
            total,
        ),
        status: query.status,
        q: query.q,
    })
}

/// My applications.
#[utoipa::path(get, path = "/applications", tag = "web", params(ListQuery), responses((status = 200, description = "HTML page")))]
pub async fn my_applications(
    State(state): State<AppState>,
    page: Page,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    list(&state, &page, Scope::Mine, query).await
}

/// All applications of the organisation.
#[utoipa::path(get, path = "/applications/all", tag = "web", params(ListQuery), responses((status = 200, description = "HTML page")))]
pub async fn all_applications(
    State(state): State<AppState>,
    page: Page,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    list(&state, &page, Scope::All, query).await
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    chrome: Chrome,
    rows: Vec<ApplicationRow>,
}

/// The applications waiting for my decision.
#[utoipa::path(get, path = "/inbox", tag = "web", responses((status = 200, description = "HTML page")))]
pub async fn inbox(State(state): State<AppState>, page: Page) -> Result<Response, PageError> {
    let principal = page.require()?;
    let waiting = state.app.inbox(principal).await?;
    render(&InboxPage {
        chrome: page.chrome("inbox.title"),
        rows: rows_of(&state, &page, principal, &waiting).await,
    })
}

// ----- one application -----------------------------------------------------------------------

pub struct DocumentRow {
    pub id: String,
    pub name: String,
    pub media_type: String,
    pub size_kb: i64,
    pub pages: i64,
}

pub struct DecisionRow {
    pub person: String,
    pub approve: bool,
    pub verdict: String,
    pub comment: String,
    pub at: String,
}

pub struct StepView {
    pub number: usize,
    pub name: String,
    pub rule: String,
    pub approvers: String,
    pub current: bool,
    pub decisions: Vec<DecisionRow>,
}

pub struct GrantView {
    pub uses: String,
    pub window: String,
    pub factors: String,
    pub status_key: &'static str,
    pub status: String,
    pub end_reason: String,
}

#[derive(Template)]
#[template(path = "application_detail.html")]
struct DetailPage {
    chrome: Chrome,
    id: String,
    number: String,
    title: String,
    status_key: &'static str,
    status: String,
    seal_id: String,
    seal: String,
    stamp_kind: String,
    count: u32,
    reason: String,
    window: String,
    applicant: String,
    documents: Vec<DocumentRow>,
    steps: Vec<StepView>,
    grant: Option<GrantView>,
    can_edit: bool,
    can_withdraw: bool,
    can_decide: bool,
    can_revoke: bool,
    errors: FieldErrors,
    max_mb: usize,
    stamps: Vec<StampRow>,
    /// Printer scans that did not print (mismatch or uncertain), newest first.
    refused_scans: Vec<ComparisonRow>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct StampStatusForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    note: String,
}

/// Changes the status of one of the application's stamps (revoke, dispute, settle).
#[utoipa::path(post, path = "/applications/{id}/stamps/{stamp}/status", tag = "web", params(StampPath), responses((status = 303, description = "Changed"), (status = 200, description = "The page again, with errors")))]
pub async fn change_stamp_status(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    Path(path): Path<StampPath>,
    Form(form): Form<StampStatusForm>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let id = parse_id(&path.id, ApplicationId::parse)?;
    let stamp = parse_id(&path.stamp, StampId::parse)?;
    // The stamp must be one of this application's (as the reader sees it).
    let stamps = state.app.application_stamps(principal, id).await?;
    if !stamps.iter().any(|s| s.id == stamp) {
        return Err(PageError::NotFound);
    }
    let result = state
        .app
        .change_stamp_status(principal, stamp, &form.status, &form.note, &context)
        .await
        .map(|_| ());
    after(&state, &page, id, result, "flash.stamp_status_changed").await
}

fn name_or(names: &std::collections::HashMap<PersonId, String>, id: PersonId) -> String {
    names.get(&id).cloned().unwrap_or_else(|| "—".to_owned())
}

async fn detail_page(
    state: &AppState,
    page: &Page,
    id: ApplicationId,
    errors: FieldErrors,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let t = page.t;
    let view = state.app.application_view(principal, id).await?;
    let a = &view.application;
    let stamp_records = state.app.application_stamps(principal, id).await?;
    let serials = if stamp_records.is_empty() {
        std::collections::HashMap::new()
    } else {
        device_serials(state, principal).await
    };
    let stamp_ids: Vec<_> = stamp_records.iter().map(|s| s.id).collect();
    let statuses = state.app.stamp_statuses(principal, &stamp_ids).await?;
    let comparisons = state.app.application_comparisons(principal, id).await?;
    let comparison_of = |stamp| {
        comparisons
            .iter()
            .find(|c| c.record.stamp == Some(stamp))
            .map(|c| comparison_row(t, c))
    };
    let can_change_stamps = principal.permissions.contains(Permission::SealsManage);
    let mut ids: Vec<PersonId> = vec![a.applicant];
    ids.extend(view.steps.iter().flat_map(|s| s.approvers.iter().copied()));
    ids.extend(view.decisions.iter().map(|d| d.decision.person));
    let names = names_of(state, principal, ids).await;
    let window = a.lifecycle.window();
    let steps = view
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| StepView {
            number: i + 1,
            name: s.name.as_str().to_owned(),
            rule: t.get(&format!("flow.rule_{}", s.rule.key())).to_owned(),
            approvers: s
                .approvers
                .iter()
                .map(|p| name_or(&names, *p))
                .collect::<Vec<_>>()
                .join("、"),
            current: view.current_step == Some(i),
            decisions: view
                .decisions
                .iter()
                .filter(|d| d.decision.step == i)
                .map(|d| DecisionRow {
                    person: name_or(&names, d.decision.person),
                    approve: d.decision.verdict == Verdict::Approve,
                    verdict: t
                        .get(&format!("verdict.{}", d.decision.verdict.key()))
                        .to_owned(),
                    comment: d.comment.clone(),
                    at: local_time(d.at),
                })
                .collect(),
        })
        .collect();
    let grant = view.grant.as_ref().map(|g| GrantView {
        uses: format!("{} / {}", a.lifecycle.uses_done(), g.uses_allowed.get()),
        window: format!(
            "{} — {}",
            local_time(g.window.from()),
            local_time(g.window.until())
        ),
        factors: g
            .factors
            .alternatives()
            .iter()
            .map(|all| {
                all.iter()
                    .map(|f| t.get(&format!("factor.{}", f.key())))
                    .collect::<Vec<_>>()
                    .join(" + ")
            })
            .collect::<Vec<_>>()
            .join(t.get("applications.factor_or")),
        status_key: if g.status.can_revoke() { "ok" } else { "off" },
        status: t
            .get(&format!("grant_status.{}", g.status.key()))
            .to_owned(),
        end_reason: g.end_reason.clone(),
    });
    render(&DetailPage {
        chrome: page.chrome("applications.detail"),
        id: id.to_string(),
        number: a.number.as_str().to_owned(),
        title: a.title.as_str().to_owned(),
        status_key: status_badge(a.lifecycle.status()),
        status: status_label(t, a.lifecycle.status()),
        seal_id: view.seal.id.to_string(),
        seal: view.seal.name.as_str().to_owned(),
        stamp_kind: t
            .get(&format!("stamp_kind.{}", a.stamp_kind.key()))
            .to_owned(),
        count: a.lifecycle.allowed().get(),
        reason: a.reason.as_str().to_owned(),
        window: format!(
            "{} — {}",
            local_time(window.from()),
            local_time(window.until())
        ),
        applicant: name_or(&names, a.applicant),
        documents: view
            .documents
            .iter()
            .map(|d| DocumentRow {
                id: d.id.to_string(),
                name: d.name.clone(),
                media_type: d.media_type.clone(),
                size_kb: (d.size_bytes + 1023) / 1024,
                pages: d.pages,
            })
            .collect(),
        steps,
        grant,
        can_edit: view.can_edit,
        can_withdraw: view.can_withdraw,
        can_decide: view.can_decide,
        can_revoke: view.can_revoke,
        errors,
        max_mb: state.app.settings().document_max_bytes / (1024 * 1024),
        stamps: stamp_records
            .iter()
            .map(|s| StampRow {
                // Already on the application's page: no link to itself.
                application_id: None,
                status_action: can_change_stamps
                    .then(|| format!("/applications/{}/stamps/{}/status", a.id, s.id)),
                comparison: comparison_of(s.id),
                ..stamp_row(t, s, &serials, &statuses)
            })
            .collect(),
        refused_scans: comparisons
            .iter()
            .filter(|c| c.record.stamp.is_none())
            .map(|c| comparison_row(t, c))
            .collect(),
    })
}

/// One application: documents, flow progress, grant and actions.
#[utoipa::path(get, path = "/applications/{id}", tag = "web", params(("id" = String, Path)), responses((status = 200, description = "HTML page")))]
pub async fn application(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    page.require()?;
    let id = parse_id(&id, ApplicationId::parse)?;
    detail_page(&state, &page, id, FieldErrors::default()).await
}

/// After an action: back to the application with a flash, or its page with the error.
async fn after(
    state: &AppState,
    page: &Page,
    id: ApplicationId,
    result: Result<(), AppError>,
    flash: &'static str,
) -> Result<Response, PageError> {
    match result {
        Ok(()) => Ok(redirect_with_flash(
            &format!("/applications/{id}"),
            flash,
            true,
        )),
        Err(error) => {
            let errors = FieldErrors::from_app(error, &[])?;
            detail_page(state, page, id, errors).await
        }
    }
}

/// Adds documents to a draft.
#[utoipa::path(post, path = "/applications/{id}/documents", tag = "web", params(("id" = String, Path)), responses((status = 303, description = "Added"), (status = 200, description = "The page again, with errors")))]
pub async fn add_documents(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let id = parse_id(&id, ApplicationId::parse)?;
    let posted = read_form(&state, page.t, request).await;
    if posted.files.is_empty() && posted.file_error.is_none() {
        // Nothing chosen: the use case still decides whether the caller may add here.
        let empty = Upload {
            name: String::new(),
            bytes: Bytes::new(),
        };
        let errors = add_files(&state, principal, id, vec![empty], &context)
            .await?
            .unwrap_or_default();
        return detail_page(&state, &page, id, errors).await;
    }
    if let Some(message) = posted.file_error {
        let mut errors = FieldErrors::default();
        errors.insert("documents", message);
        return detail_page(&state, &page, id, errors).await;
    }
    if let Some(errors) = add_files(&state, principal, id, posted.files, &context).await? {
        return detail_page(&state, &page, id, errors).await;
    }
    Ok(redirect_with_flash(
        &format!("/applications/{id}"),
        "flash.documents_added",
        true,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct DocumentPath {
    id: String,
    document: String,
}

/// Removes a document from a draft.
#[utoipa::path(post, path = "/applications/{id}/documents/{document}/delete", tag = "web", params(DocumentPath), responses((status = 303, description = "Removed")))]
pub async fn remove_document(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    Path(path): Path<DocumentPath>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let id = parse_id(&path.id, ApplicationId::parse)?;
    let doc = parse_id(&path.document, DocumentId::parse)?;
    let result = state
        .app
        .remove_document(principal, id, doc, &context)
        .await;
    after(&state, &page, id, result, "flash.document_removed").await
}

async fn document_response(
    state: &AppState,
    page: &Page,
    path: &DocumentPath,
    thumbnail: bool,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let id = parse_id(&path.id, ApplicationId::parse)?;
    let doc = parse_id(&path.document, DocumentId::parse)?;
    let (record, bytes) = state
        .app
        .document_content(principal, id, doc, thumbnail)
        .await?;
    Ok(crate::api::applications::document_response(
        &record, bytes, thumbnail,
    ))
}

/// A document, as a download in its stored media type.
#[utoipa::path(get, path = "/applications/{id}/documents/{document}", tag = "web", params(DocumentPath), responses((status = 200, description = "The document")))]
pub async fn document(
    State(state): State<AppState>,
    page: Page,
    Path(path): Path<DocumentPath>,
) -> Result<Response, PageError> {
    document_response(&state, &page, &path, false).await
}

/// A document's first-page thumbnail (PNG).
#[utoipa::path(get, path = "/applications/{id}/documents/{document}/thumbnail", tag = "web", params(DocumentPath), responses((status = 200, description = "PNG image")))]
pub async fn thumbnail(
    State(state): State<AppState>,
    page: Page,
    Path(path): Path<DocumentPath>,
) -> Result<Response, PageError> {
    document_response(&state, &page, &path, true).await
}

/// Submits a draft for approval.
#[utoipa::path(post, path = "/applications/{id}/submit", tag = "web", params(("id" = String, Path)), responses((status = 303, description = "Submitted")))]
pub async fn submit(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let id = parse_id(&id, ApplicationId::parse)?;
    let result = state
        .app
        .submit_application(principal, id, &context)
        .await
        .map(|_| ());
    after(&state, &page, id, result, "flash.application_submitted").await
}

/// Withdraws an application.
#[utoipa::path(post, path = "/applications/{id}/withdraw", tag = "web", params(("id" = String, Path)), responses((status = 303, description = "Withdrawn")))]
pub async fn withdraw(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let id = parse_id(&id, ApplicationId::parse)?;
    let result = state
        .app
        .withdraw_application(principal, id, &context)
        .await
        .map(|_| ());
    after(&state, &page, id, result, "flash.application_withdrawn").await
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct DecisionForm {
    #[serde(default)]
    verdict: String,
    #[serde(default)]
    comment: String,
}

/// Approves or rejects the current step, with a comment.
#[utoipa::path(post, path = "/applications/{id}/decision", tag = "web", params(("id" = String, Path)), responses((status = 303, description = "Decided")))]
pub async fn decide(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    Path(id): Path<String>,
    Form(form): Form<DecisionForm>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let id = parse_id(&id, ApplicationId::parse)?;
    let result = state
        .app
        .decide_application(principal, id, &form.verdict, &form.comment, &context)
        .await
        .map(|_| ());
    let flash = if form.verdict == "reject" {
        "flash.application_rejected"
    } else {
        "flash.application_approved"
    };
    match result {
        Ok(()) => Ok(redirect_with_flash("/inbox", flash, true)),
        Err(error) => {
            let errors = FieldErrors::from_app(error, &[])?;
            detail_page(&state, &page, id, errors).await
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RevokeForm {
    #[serde(default)]
    reason: String,
}

/// Revokes an application's grant, with a reason.
#[utoipa::path(post, path = "/applications/{id}/revoke", tag = "web", params(("id" = String, Path)), responses((status = 303, description = "Revoked")))]
pub async fn revoke(
    State(state): State<AppState>,
    page: Page,
    Context(context): Context,
    Path(id): Path<String>,
    Form(form): Form<RevokeForm>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let id = parse_id(&id, ApplicationId::parse)?;
    let result = state
        .app
        .revoke_grant(principal, id, &form.reason, &context)
        .await
        .map(|_| ());
    after(&state, &page, id, result, "flash.grant_revoked").await
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct StampPath {
    id: String,
    stamp: String,
}

/// A stamp's photo (a seal box's picture of the press, or a printer's scan of the page),
/// in the media type judged from its content, with `nosniff`.
#[utoipa::path(get, path = "/applications/{id}/stamps/{stamp}/photo", tag = "web", params(StampPath), responses((status = 200, description = "JPEG or PNG image")))]
pub async fn stamp_photo(
    State(state): State<AppState>,
    page: Page,
    Path(path): Path<StampPath>,
) -> Result<Response, PageError> {
    let principal = page.require()?;
    let id = parse_id(&path.id, ApplicationId::parse)?;
    let stamp = parse_id(&path.stamp, StampId::parse)?;
    let (media_type, bytes) = state.app.stamp_photo(principal, id, stamp).await?;
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    Ok(response)
}
