# The report's statistics once more, in base R and survival: a second implementation of
# rehabstats' estimators (tests/test_against_r.py compares the two) and the analysis of
# the R Markdown peer report (report.Rmd sources this file; bench_peer.py times both).
#
#     Rscript benchmarks/peer/analysis.R REGISTER.csv OUTDIR
#
# Reads a register extract in the canonical layout (the data dictionary's column names and
# codes, as `rehabstats synth` writes it; not the labels and other spellings rehabstats'
# loader also accepts, and without its validation) and derives everything from the documented
# definitions (data/dictionary.md, the module docs of rehabstats/data/population.py and
# rehabstats/stats/), not from rehabstats' own frames:
#
# * studied: randomised, not a duplicate (a person randomised again; the first
#   randomisation, by date then case id, is kept) and file reviewed;
# * group: control when arm is control, else declined when declined, else treatment;
# * per event: marked without a date, a date without the mark, or a date after the file
#   review leave the case out of that event's analysis; the others have the event (days
#   from the case's start to the event) or are censored at the file review;
# * Kaplan-Meier by group on every tenth day to day 360 (the diagrams' days: the days their
#   numbers at risk are marked, every 30th, and the days the text quotes, 60 and 100,
#   among them); log-rank tests of the three groups and of each offered group vs control;
# * Cox models (Efron ties) B3 (meeting) and B4 (plan) by group, B5 and B6 (measure) on
#   the cases usable for all three events, with meeting and plan fixed (B5: yes/no; B6:
#   the day's window 0-30, 31-60, 61-90, 91+ against none), and B5 and B6 again with
#   meeting and plan time-varying (survival's tmerge: day d is (d - 1, d], a case enters
#   at -1, a meeting or plan on day d is on from d - 1, so from the start of its day);
# * every model adjusts for the covariates with the dictionary's reference categories; a
#   covariate category whose cases have no event is left out (repeated until none is),
#   a category without cases is dropped, a covariate left with one level is dropped.
#
# Writes OUTDIR/{flow,events,km,logrank,cox,models}.csv.

suppressPackageStartupMessages(library(survival))

GROUPS <- c("control", "treatment", "declined")
EVENTS <- c("meeting", "plan", "measure")
USABLE <- c("event", "censored")
KM_DAYS <- seq(0, 360, by = 10)
WINDOWS <- c("0-30", "31-60", "61-90", "91+")
# The data dictionary's reference categories (data/dictionary.md), age as its groups.
COVARIATES <- c(
  sex = "women", age_group = "40-49", birth_country = "sweden",
  education = "upper_secondary", employment = "unemployed", county = "stockholm",
  diagnosis = "mental", benefit = "temporary_sickness_compensation", extent = "100"
)
AGE_BREAKS <- c(16, 30, 40, 50, 68) # 16-29, 30-39, 40-49, 50-67, left-closed
AGE_LABELS <- c("16-29", "30-39", "40-49", "50-67")

# --- the study population ---------------------------------------------------------------

read_register <- function(path) {
  read.csv(path, colClasses = "character", na.strings = "", check.names = FALSE)
}

yes <- function(x) !is.na(x) & x == "yes"

# Which input rows are studied, and the counts of the population flow (Tabell 1).
population <- function(register) {
  randomised <- yes(register$randomised)
  rows <- which(randomised)
  order_ <- rows[order(register$randomisation_date[rows], register$case_id[rows],
    method = "radix"
  )]
  duplicate <- rep(FALSE, nrow(register))
  duplicate[order_[duplicated(register$person_id[order_])]] <- TRUE
  reviewed <- yes(register$file_reviewed)
  studied <- randomised & !duplicate & reviewed
  flow <- data.frame(
    step = c(
      "cases_in_register", "not_randomised", "randomised_cases", "duplicates",
      "sampling_frame", "not_reviewed", "studied"
    ),
    n = c(
      nrow(register), sum(!randomised), sum(randomised), sum(duplicate),
      sum(randomised & !duplicate), sum(randomised & !duplicate & !reviewed), sum(studied)
    )
  )
  list(studied = studied, flow = flow)
}

# One event's status, event indicator and days for each case (NA days when left out).
event_columns <- function(cases, event) {
  flag <- yes(cases[[event]])
  date <- as.Date(cases[[paste0(event, "_date")]])
  start <- as.Date(cases$case_start_date)
  end <- as.Date(cases$followup_end_date)
  status <- ifelse(flag & is.na(date), "date_missing",
    ifelse(!flag & !is.na(date), "date_without_event",
      ifelse(!is.na(date) & date > end, "date_after_followup",
        ifelse(flag, "event", "censored")
      )
    )
  )
  until <- ifelse(status == "event", date, ifelse(status == "censored", end, NA))
  cases[[paste0(event, "_status")]] <- status
  cases[[paste0(event, "_observed")]] <- as.integer(status == "event")
  cases[[paste0(event, "_days")]] <- until - as.numeric(start) # ifelse gives day numbers
  cases
}

studied_cases <- function(register, studied) {
  cases <- register[studied, ]
  declined <- yes(cases$declined)
  cases$group <- ifelse(cases$arm == "control", "control",
    ifelse(declined, "declined", "treatment")
  )
  cases$age_group <- as.character(cut(as.numeric(cases$age), AGE_BREAKS,
    labels = AGE_LABELS, right = FALSE
  ))
  for (event in EVENTS) cases <- event_columns(cases, event)
  cases
}

usable <- function(cases, events) {
  ok <- Reduce(`&`, lapply(events, function(e) cases[[paste0(e, "_status")]] %in% USABLE))
  cases[ok, ]
}

# --- Tabell 4-6, Kaplan-Meier and log-rank ----------------------------------------------

event_table <- function(cases, event) {
  days <- paste0(event, "_days")
  rows <- lapply(c(GROUPS, "total"), function(g) {
    members <- if (g == "total") cases else cases[cases$group == g, ]
    analysed <- usable(members, event)
    observed <- analysed[[days]][analysed[[paste0(event, "_observed")]] == 1]
    data.frame(
      event = event, group = g,
      mean_days = if (length(observed)) mean(observed) else NA,
      median_days = if (length(observed)) median(observed) else NA,
      n = nrow(analysed), events = length(observed),
      share_pct = 100 * length(observed) / nrow(analysed),
      left_out = sum(!members[[paste0(event, "_status")]] %in% USABLE)
    )
  })
  do.call(rbind, rows)
}

# Cumulative share with the event, 100 (1 - S(day)), and the number at risk on `days`;
# the share is undefined after the group's longest follow-up.
km_table <- function(cases, event) {
  analysed <- usable(cases, event)
  time <- analysed[[paste0(event, "_days")]]
  status <- analysed[[paste0(event, "_observed")]]
  rows <- lapply(GROUPS, function(g) {
    member <- analysed$group == g
    fit <- survfit(Surv(time[member], status[member]) ~ 1)
    at <- summary(fit, times = KM_DAYS, extend = TRUE)
    share <- 100 * (1 - at$surv)
    share[KM_DAYS > max(time[member])] <- NA
    data.frame(
      event = event, group = g, day = at$time, cum_share_pct = share, at_risk = at$n.risk
    )
  })
  do.call(rbind, rows)
}

logrank_table <- function(cases, event) {
  analysed <- usable(cases, event)
  comparisons <- list(
    overall = GROUPS, treatment_vs_control = c("treatment", "control"),
    declined_vs_control = c("declined", "control")
  )
  rows <- lapply(names(comparisons), function(name) {
    part <- analysed[analysed$group %in% comparisons[[name]], ]
    test <- survdiff(Surv(part[[paste0(event, "_days")]], part[[paste0(event, "_observed")]]) ~
      part$group)
    df <- length(comparisons[[name]]) - 1
    data.frame(
      event = event, comparison = name, statistic = test$chisq, df = df,
      p_value = pchisq(test$chisq, df, lower.tail = FALSE)
    )
  })
  do.call(rbind, rows)
}

# --- Cox models ---------------------------------------------------------------------------

# The model's sample: covariate categories without events left out (repeatedly), then
# each covariate a factor of the categories it has, reference first (the largest
# category when the reference has no cases: a tie between two largest ones may be broken
# otherwise than by rehabstats); covariates with one level are dropped.
cox_sample <- function(sample, event) {
  repeat {
    silent <- Reduce(`|`, lapply(names(COVARIATES), function(v) {
      events <- tapply(sample[[event]], sample[[v]], sum)
      sample[[v]] %in% names(events)[events == 0]
    }))
    if (!any(silent)) break
    sample <- sample[!silent, ]
  }
  kept <- character(0)
  for (v in names(COVARIATES)) {
    counts <- table(sample[[v]])
    if (length(counts) < 2) next
    reference <- COVARIATES[[v]]
    if (!reference %in% names(counts)) reference <- names(which.max(counts))
    others <- setdiff(sort(names(counts)), reference)
    sample[[v]] <- factor(sample[[v]], levels = c(reference, others))
    kept <- c(kept, v)
  }
  sample$group <- factor(sample$group, levels = GROUPS)
  list(sample = sample, covariates = kept)
}

# The window of an event's day (right-closed: 0-30, 31-60, 61-90, 91+), "none" without it.
window <- function(observed, days) {
  windows <- as.character(cut(days, c(-Inf, 30, 60, 90, Inf), labels = WINDOWS))
  ifelse(observed == 1, windows, "none")
}

# One row per level of each term: n, coefficient, hazard ratio with its 95 % interval and
# the Wald p-value; the reference level has coefficient 0 and ratio 1. `levels_of` gives
# the values whose counts make a level's n (one per case).
cox_rows <- function(model, fit, terms, levels_of) {
  estimates <- summary(fit)$coefficients
  intervals <- summary(fit)$conf.int
  rows <- lapply(terms, function(v) {
    values <- levels_of[[v]]
    lapply(levels(values), function(level) {
      name <- paste0(v, level)
      reference <- level == levels(values)[1]
      data.frame(
        model = model, term = paste0(v, ":", level), variable = v, level = level,
        reference = reference, n = sum(values == level),
        coef = if (reference) 0 else estimates[name, "coef"],
        se = if (reference) NA else estimates[name, "se(coef)"],
        hazard_ratio = if (reference) 1 else estimates[name, "exp(coef)"],
        ci_low = if (reference) NA else intervals[name, "lower .95"],
        ci_high = if (reference) NA else intervals[name, "upper .95"],
        p_value = if (reference) NA else estimates[name, "Pr(>|z|)"]
      )
    })
  })
  do.call(rbind, unlist(rows, recursive = FALSE))
}

# Efron's method for tied days, run until the log partial likelihood changes by less than
# 1e-11 of itself (R's default: 1e-9), so that the estimates are the maximum's to ~1e-11
# standard errors: the yardstick rehabstats' estimates are held to.
CONTROL <- coxph.control(eps = 1e-11, iter.max = 100)

fit_cox <- function(formula, data) {
  coxph(formula, data = data, ties = "efron", control = CONTROL)
}

model_summary <- function(model, fit, n) {
  data.frame(model = model, n = n, events = fit$nevent, loglik = fit$loglik[2])
}

event_model <- function(cases, model, event) {
  prepared <- cox_sample(usable(cases, event), paste0(event, "_observed"))
  sample <- prepared$sample
  terms <- c("group", prepared$covariates)
  formula <- as.formula(paste0(
    "Surv(", event, "_days, ", event, "_observed) ~ ", paste(terms, collapse = " + ")
  ))
  fit <- fit_cox(formula, sample)
  list(rows = cox_rows(model, fit, terms, sample), model = model_summary(model, fit, nrow(sample)))
}

# B5 and B6 (fixed) and their time-varying forms: the cases usable for all three events.
measure_models <- function(cases) {
  prepared <- cox_sample(usable(cases, EVENTS), "measure_observed")
  sample <- prepared$sample
  covariates <- prepared$covariates
  for (e in c("meeting", "plan")) {
    observed <- sample[[paste0(e, "_observed")]]
    days <- sample[[paste0(e, "_days")]]
    sample[[e]] <- factor(ifelse(observed == 1, "yes", "no"), levels = c("no", "yes"))
    sample[[paste0(e, "_window")]] <- factor(window(observed, days), levels = c("none", WINDOWS))
  }
  fixed <- list(
    B5 = c("group", "meeting", "plan", covariates),
    B6 = c("group", "meeting_window", "plan_window", covariates)
  )
  results <- fit_models(fixed, "Surv(measure_days, measure_observed)", sample, sample)
  c(results, time_varying(sample, covariates))
}

# Each model of `terms` fitted on `data` with the response `response`; its rows counted
# (n per level, cases) on `counted`, one row per case.
fit_models <- function(terms, response, data, counted) {
  lapply(names(terms), function(model) {
    formula <- as.formula(paste(response, "~", paste(terms[[model]], collapse = " + ")))
    fit <- fit_cox(formula, data)
    list(
      rows = cox_rows(model, fit, terms[[model]], counted),
      model = model_summary(model, fit, nrow(counted))
    )
  })
}

# The counting-process split by survival's tmerge: a case from -1 to its measure day,
# the measure there when it started; meeting (plan) on from the day before its day.
counting_process <- function(sample) {
  sample$id <- seq_len(nrow(sample))
  sample$entry <- -1
  rows <- tmerge(sample, sample,
    id = id, tstart = entry, tstop = measure_days,
    measure = event(measure_days, measure_observed)
  )
  for (e in c("meeting", "plan")) {
    had <- sample[sample[[paste0(e, "_observed")]] == 1, ]
    switches <- data.frame(id = had$id, on = had[[paste0(e, "_days")]] - 1)
    rows <- tmerge(rows, switches, id = id, on = tdc(on))
    names(rows)[names(rows) == "on"] <- paste0(e, "_on")
  }
  rows
}

time_varying <- function(sample, covariates) {
  rows <- counting_process(sample)
  for (e in c("meeting", "plan")) {
    on <- rows[[paste0(e, "_on")]] == 1
    window_ <- as.character(rows[[paste0(e, "_window")]])
    rows[[e]] <- factor(ifelse(on, "yes", "no"), levels = c("no", "yes"))
    rows[[paste0(e, "_window")]] <- factor(ifelse(on, window_, "none"), levels = c("none", WINDOWS))
  }
  state <- rows[rows$tstop == rows$measure_days, ] # each case's state when it left
  state <- state[order(state$id), ]
  terms <- list(
    TV_B5 = c("group", "meeting", "plan", covariates),
    TV_B6 = c("group", "meeting_window", "plan_window", covariates)
  )
  fit_models(terms, "Surv(tstart, tstop, measure)", rows, state)
}

# --- everything -------------------------------------------------------------------------

analyse <- function(path) {
  register <- read_register(path)
  people <- population(register)
  cases <- studied_cases(register, people$studied)
  models <- c(
    list(event_model(cases, "B3", "meeting"), event_model(cases, "B4", "plan")),
    measure_models(cases)
  )
  list(
    cases = cases,
    flow = people$flow,
    events = do.call(rbind, lapply(EVENTS, function(e) event_table(cases, e))),
    km = do.call(rbind, lapply(EVENTS, function(e) km_table(cases, e))),
    logrank = do.call(rbind, lapply(EVENTS, function(e) logrank_table(cases, e))),
    cox = do.call(rbind, lapply(models, `[[`, "rows")),
    models = do.call(rbind, lapply(models, `[[`, "model"))
  )
}

write_results <- function(results, folder) {
  dir.create(folder, showWarnings = FALSE, recursive = TRUE)
  for (name in c("flow", "events", "km", "logrank", "cox", "models")) {
    frame <- results[[name]]
    numeric <- vapply(frame, is.double, logical(1))
    frame[numeric] <- lapply(frame[numeric], function(x) ifelse(is.na(x), NA, sprintf("%.17g", x)))
    write.csv(frame, file.path(folder, paste0(name, ".csv")), row.names = FALSE, na = "")
  }
}

if (sys.nframe() == 0L) {
  args <- commandArgs(trailingOnly = TRUE)
  if (length(args) != 2) stop("usage: Rscript analysis.R REGISTER.csv OUTDIR")
  write_results(analyse(args[1]), args[2])
}
