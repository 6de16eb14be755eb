// A small dictionary: zh-CN (the default) and English. t(key, vars) with {name} placeholders.
const DICT = {
  "zh-CN": {
    app: "双签工作站", lang: "语言", logout: "退出", username: "用户名", password: "密码", login: "登录",
    login_failed: "用户名或密码错误", session_expired: "登录已过期，请重新登录",
    nav_worklist: "工作列表", nav_qc: "质控不合格", nav_claims: "医保结算", nav_audit: "审计追踪",
    worklist: "待审工作列表", refresh: "刷新", auto_refresh: "自动刷新", updated: "更新于 {time}",
    total: "共 {n} 项", shown: "显示 {n} 项", filters: "筛选", all: "全部", search: "搜索（姓名/检查号）",
    modality: "检查类型", status: "状态", urgency: "紧急程度", waiting: "等待", patient: "患者",
    accession: "检查号", summary: "AI 摘要", site: "送检机构", empty: "没有待审检查",
    critical: "危急", urgent: "紧急", routine: "常规", unknown: "未知",
    ecg: "心电图", chest_ct: "胸部CT", fundus: "眼底",
    preliminary: "AI初报", in_review: "审核中", final: "已签发", amended: "已修订", retracted: "已撤回",
    qc_failed: "质控不合格", analysis_failed: "分析失败", received: "已接收", queued: "排队中", analyzing: "分析中",
    minutes: "{n} 分钟", hours: "{h} 小时 {m} 分", days: "{d} 天 {h} 小时",
    sex_M: "男", sex_F: "女", sex_O: "其他", sex_U: "未知", age: "{n} 岁", mrn: "病历号", insurance: "医保号",
    reading_site: "阅片机构", received_at: "接收时间",
    qc_verdict: "质控结论", qc_pass: "质量合格", qc_fail: "质量不合格",
    findings: "AI 发现", report_findings: "检查所见", accept: "接受", reject: "否决", edit: "修改测量值", save: "保存", cancel: "取消",
    reject_reason: "否决理由", reason_required: "请填写否决理由", proposed: "待审", accepted: "已接受",
    rejected: "已否决", edited: "已修改", added: "医师补充", confidence: "置信度", critical_flag: "危急",
    add_finding: "补充遗漏发现", label: "描述", add: "添加",
    impression: "医师诊断意见", ai_text: "AI 初步报告", physician_text: "医师修改后",
    sign: "签名", sign_title: "确认签名", sign_note: "请再次输入密码以解锁您的签名密钥。",
    unreviewed: "尚有 {n} 项 AI 发现未审核", reports: "报告版本", version: "第 {n} 版",
    signatures: "签名", verified: "签名已验证", not_verified: "签名验证失败", signer_ai: "AI", signer_physician: "医师",
    licence: "执业证号", algorithm: "算法", signed_at: "签名时间", amend: "修订报告", amend_reason: "修订理由",
    view_report: "查看报告 (HTML)", print: "打印",
    viewer: "影像/波形", no_viewer: "{modality} 查看器尚未提供（等待相应分析器）。",
    ecg_grid: "25 mm/s · 10 mm/mV", rhythm_strip: "节律条", measurements: "测量值", beats: "心搏标注",
    zoom_in: "放大", zoom_out: "缩小", earlier: "前移", later: "后移",
    m_hr: "心率", m_pr: "PR 间期", m_qrs: "QRS 时限", m_qt: "QT 间期", m_qtcb: "QTc (Bazett)",
    m_qtcf: "QTc (Fridericia)", m_paxis: "P 电轴", m_qrsaxis: "QRS 电轴", m_taxis: "T 电轴", m_rr: "RR 均值",
    qc_failures: "质控不合格检查（需重新检查）", reasons: "原因", no_qc_failures: "没有质控不合格的检查",
    claims: "医保结算记录", from: "起", to: "止", amount: "金额", self_pay: "自付", fund: "统筹", entry: "类型",
    service: "服务项目", charge: "收费", reversal: "冲销", export_csv: "导出结算 CSV", export_json: "导出结算 JSON",
    no_claims: "该期间没有结算记录", audit: "审计追踪检索", actor: "操作者", action: "操作", object: "对象",
    outcome: "结果", time: "时间", no_events: "没有符合条件的记录", any: "任意",
    final_report: "诊断报告", report_ai_disclaimer: "AI 初步报告：经执业医师审核签名后方有效。",
    report_final_note: "本报告由人工智能生成初稿，经执业医师审核并签名（人机双签）。",
    window_lung: "肺窗", window_mediastinal: "纵隔窗", slice: "层", slice_thickness: "层厚", reset_view: "复位",
    add_nodule: "点击补充漏检结节", added_nodule_label: "医师补充结节（第 {slice} 层）", fundus_photo: "眼底照片",
    lesion_microaneurysm: "微动脉瘤", lesion_haemorrhage: "出血", lesion_hard_exudate: "硬性渗出",
    lesion_soft_exudate: "软性渗出（棉絮斑）", laterality: "眼别", key_image: "关键图像",
    ai_signature: "AI 签名", physician_signature: "医师签名", based_on: "依据 AI 初报第 {n} 版",
    back: "返回", error: "出错了", loading: "加载中…", role: "角色", open: "打开", do_search: "检索", detail: "详情",
    physician: "医师", technologist: "技师", qc_officer: "质控员", billing: "医保结算员", auditor: "审计员", admin: "管理员",
  },
  en: {
    app: "dualsign workstation", lang: "Language", logout: "Sign out", username: "Username", password: "Password",
    login: "Sign in", login_failed: "Wrong username or password", session_expired: "Session expired, please sign in again",
    nav_worklist: "Worklist", nav_qc: "QC failures", nav_claims: "Claims", nav_audit: "Audit trail",
    worklist: "Worklist", refresh: "Refresh", auto_refresh: "Auto-refresh", updated: "Updated {time}",
    total: "{n} total", shown: "{n} shown", filters: "Filters", all: "All", search: "Search (name / accession)",
    modality: "Modality", status: "Status", urgency: "Urgency", waiting: "Waiting", patient: "Patient",
    accession: "Accession", summary: "AI summary", site: "Sending site", empty: "Nothing waiting for review",
    critical: "Critical", urgent: "Urgent", routine: "Routine", unknown: "Unknown",
    ecg: "ECG", chest_ct: "Chest CT", fundus: "Fundus",
    preliminary: "AI preliminary", in_review: "In review", final: "Final", amended: "Amended", retracted: "Retracted",
    qc_failed: "QC failed", analysis_failed: "Analysis failed", received: "Received", queued: "Queued",
    analyzing: "Analysing", minutes: "{n} min", hours: "{h} h {m} min", days: "{d} d {h} h",
    sex_M: "Male", sex_F: "Female", sex_O: "Other", sex_U: "Unknown", age: "{n} y", mrn: "MRN",
    insurance: "Insurance no.", reading_site: "Reading site", received_at: "Received",
    qc_verdict: "QC verdict", qc_pass: "Quality acceptable", qc_fail: "Quality not acceptable",
    findings: "AI findings", report_findings: "Findings", accept: "Accept", reject: "Reject", edit: "Edit measurement", save: "Save",
    cancel: "Cancel", reject_reason: "Reason for rejecting", reason_required: "A reason is required to reject",
    proposed: "Proposed", accepted: "Accepted", rejected: "Rejected", edited: "Edited", added: "Added by physician",
    confidence: "Confidence", critical_flag: "Critical", add_finding: "Add a missed finding", label: "Description",
    add: "Add", impression: "Physician's impression", ai_text: "AI preliminary report", physician_text: "Physician's changes",
    sign: "Sign", sign_title: "Confirm signature", sign_note: "Re-enter your password to unlock your signing key.",
    unreviewed: "{n} AI finding(s) not yet reviewed", reports: "Report versions", version: "Version {n}",
    signatures: "Signatures", verified: "Signatures verified", not_verified: "Signature check FAILED",
    signer_ai: "AI", signer_physician: "Physician", licence: "Licence no.", algorithm: "Algorithm",
    signed_at: "Signed at", amend: "Amend report", amend_reason: "Reason for amendment",
    view_report: "View report (HTML)", print: "Print",
    viewer: "Viewer", no_viewer: "No {modality} viewer yet (waiting for its analyzer).",
    ecg_grid: "25 mm/s · 10 mm/mV", rhythm_strip: "Rhythm strip", measurements: "Measurements", beats: "Beat labels",
    zoom_in: "Zoom in", zoom_out: "Zoom out", earlier: "Earlier", later: "Later",
    m_hr: "Heart rate", m_pr: "PR interval", m_qrs: "QRS duration", m_qt: "QT interval", m_qtcb: "QTc (Bazett)",
    m_qtcf: "QTc (Fridericia)", m_paxis: "P axis", m_qrsaxis: "QRS axis", m_taxis: "T axis", m_rr: "RR mean",
    qc_failures: "Exams failing QC (retake requests)", reasons: "Reasons", no_qc_failures: "No exam has failed QC",
    claims: "Insurance claims", from: "From", to: "To", amount: "Amount", self_pay: "Self-pay", fund: "Fund",
    entry: "Entry", service: "Service", charge: "Charge", reversal: "Reversal", export_csv: "Settlement CSV",
    export_json: "Settlement JSON", no_claims: "No claims in this period", audit: "Audit trail search",
    actor: "Actor", action: "Action", object: "Object", outcome: "Outcome", time: "Time",
    no_events: "No matching events", any: "Any", final_report: "Diagnostic report",
    report_ai_disclaimer: "AI preliminary report: not valid until reviewed and signed by a licensed physician.",
    report_final_note: "Drafted by AI, reviewed and signed by a licensed physician (human-machine dual signature).",
    window_lung: "Lung window", window_mediastinal: "Mediastinal window", slice: "Slice",
    slice_thickness: "Slice thickness", reset_view: "Reset view", add_nodule: "Click to add a missed nodule",
    added_nodule_label: "Nodule added by physician (slice {slice})", fundus_photo: "Fundus photograph",
    lesion_microaneurysm: "Microaneurysms", lesion_haemorrhage: "Haemorrhages", lesion_hard_exudate: "Hard exudates",
    lesion_soft_exudate: "Soft exudates", laterality: "Eye", key_image: "Key image",
    ai_signature: "AI signature", physician_signature: "Physician signature", based_on: "Based on AI preliminary version {n}",
    back: "Back", error: "Error", loading: "Loading…", role: "Role", open: "Open", do_search: "Search", detail: "Detail",
    physician: "Physician", technologist: "Technologist", qc_officer: "QC officer", billing: "Billing", auditor: "Auditor", admin: "Administrator",
  },
};

export const LANGUAGES = [["zh-CN", "中文"], ["en", "English"]];
let current = localStorage.getItem("dualsign.lang") || "zh-CN";
if (!DICT[current]) current = "zh-CN";

export function lang() { return current; }

export function setLang(code) {
  if (!DICT[code]) return;
  current = code;
  localStorage.setItem("dualsign.lang", code);
  document.documentElement.lang = code;
}

export function t(key, vars = {}) {
  const text = DICT[current][key] ?? DICT.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
}

// A coded value (status, urgency, modality) shown in the current language; unknown codes shown as is.
export function label(code) {
  return code == null ? t("unknown") : (DICT[current][code] ?? DICT.en[code] ?? String(code));
}

document.documentElement.lang = current;
