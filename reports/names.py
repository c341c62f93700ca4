"""Chinese names the reports print for the ledger's codes: categories, tiers, flows, refusals."""

from __future__ import annotations

from ledger.registry.firms import CERTIFICATIONS
from ledger.registry.providers import CATEGORY_NAMES

REFUSAL_NAMES = {
    "cap_exceeded": "超出限额",
    "related_party": "关联交易",
    "claim_late": "逾期申领",
    "voucher_expired": "创新券已过期",
    "voucher_not_yet_valid": "创新券尚未生效",
    "budget_exhausted": "预算不足",
    "not_eligible": "不符合申请条件",
    "evidence_missing": "缺少证明材料",
    "provider_not_registered": "服务机构未登记该类别",
    "unknown_category": "未知服务类别",
    "unknown_tier": "未知奖励类别",
    "already_awarded": "已获同类奖励",
    "certification_not_new": "认定非新取得",
    "invalid_amount": "金额无效",
    "insufficient_balance": "余额不足",
    "self_approval": "自审自批",
    "permission_denied": "无权操作",
    "not_found": "对象不存在",
    "invalid_input": "输入无效",
    "conflict": "状态冲突",
    "award_in_publicity": "奖励处于公示期",
    "award_objection_pending": "奖励有待决异议",
    "outside_publicity_period": "不在公示期内",
    "objection_already_decided": "异议已处理",
}

FLOW_NAMES = {
    "programme.appropriate": "预算拨入",
    "voucher.issue": "发放创新券",
    "voucher.expire": "到期退回预算",
    "redemption.book": "预订服务（冻结）",
    "redemption.complete": "服务完成核销",
    "redemption.cancel": "取消预订（解冻）",
    "redemption.clawback": "核销追回",
    "clawback.receivable": "追回已付款（应收）",
    "payment.batch": "支付批次（冻结）",
    "payment.paid": "银行支付完成",
    "award.approve": "奖励批准",
    "award.pay": "奖励支付",
    "award.clawback": "奖励追回",
    "award.receivable": "追回已拨奖励（应收）",
    "award.objection": "公示异议成立（撤销批准）",
}

# How a transfer moves a party's account: posted at once, a hold, or a hold resolved.
KIND_NAMES = {
    "normal": "过账",
    "pending": "冻结",
    "post_pending": "冻结转过账",
    "void_pending": "解除冻结",
}


# The chart of accounts in the glossary's words (docs/glossary.md): what each kind holds.
ACCOUNT_KIND_NAMES = {
    "funding": "资金来源",
    "budget": "可用预算",
    "voucher": "创新券未用余额",
    "provider": "服务机构应付",
    "award": "奖励应付",
    "receivable": "追回应收",
    "paid": "已支付",
}


def account_kind_name(kind: str) -> str:
    """可用预算 for budget, 追回应收 for receivable; an unknown kind prints as itself."""
    return ACCOUNT_KIND_NAMES.get(kind, kind)


def category_name(code: str) -> str:
    """专利申请 for patent_application; an unknown code prints as itself."""
    return CATEGORY_NAMES.get(code, code)


def tier_name(code: str) -> str:
    """瞪羚企业 for gazelle; an unknown code prints as itself."""
    return CERTIFICATIONS.get(code, code)


def refusal_name(code: str) -> str:
    """What a refusal code means, in Chinese; an unknown code reads 其他."""
    return REFUSAL_NAMES.get(code, "其他")


def flow_name(flow: str) -> str:
    """The business a journal entry records, in Chinese; an unknown flow prints as itself."""
    return FLOW_NAMES.get(flow, flow)
