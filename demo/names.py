"""The demo year's registry: Liaoning firms and providers with real-looking names, made up.

Everything comes from a seeded random generator, so every run makes the same parties in the
same order; asking for fewer gives a prefix of the longer list. Credit codes carry the
district's division code and a valid check character; the names belong to no real company.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from ledger.registry.credit_code import ALPHABET, check_character
from ledger.registry.firms import Certification
from ledger.registry.parties import PartyData
from ledger.registry.providers import Registration
from rules.schema import CATEGORIES

SEED = 20260101
# The 14 cities, their districts and each district's administrative division code.
DISTRICTS: dict[str, tuple[tuple[str, str], ...]] = {
    "沈阳市": (("和平区", "210102"), ("沈河区", "210103"), ("大东区", "210104"),
              ("皇姑区", "210105"), ("铁西区", "210106"), ("浑南区", "210112"),
              ("沈北新区", "210113"), ("于洪区", "210114")),
    "大连市": (("中山区", "210202"), ("西岗区", "210203"), ("沙河口区", "210204"),
              ("甘井子区", "210211"), ("旅顺口区", "210212"), ("金州区", "210213")),
    "鞍山市": (("铁东区", "210302"), ("铁西区", "210303"), ("立山区", "210304"),
              ("千山区", "210311")),
    "抚顺市": (("新抚区", "210402"), ("东洲区", "210403"), ("望花区", "210404"),
              ("顺城区", "210411")),
    "本溪市": (("平山区", "210502"), ("溪湖区", "210503"), ("明山区", "210504")),
    "丹东市": (("元宝区", "210602"), ("振兴区", "210603"), ("振安区", "210604")),
    "锦州市": (("古塔区", "210702"), ("凌河区", "210703"), ("太和区", "210711")),
    "营口市": (("站前区", "210802"), ("西市区", "210803"), ("鲅鱼圈区", "210804"),
              ("老边区", "210811")),
    "阜新市": (("海州区", "210902"), ("太平区", "210904"), ("细河区", "210911")),
    "辽阳市": (("白塔区", "211002"), ("文圣区", "211003"), ("宏伟区", "211004"),
              ("太子河区", "211011")),
    "盘锦市": (("双台子区", "211102"), ("兴隆台区", "211103"), ("大洼区", "211104")),
    "铁岭市": (("银州区", "211202"), ("清河区", "211204")),
    "朝阳市": (("双塔区", "211302"), ("龙城区", "211303")),
    "葫芦岛市": (("连山区", "211402"), ("龙港区", "211403"), ("南票区", "211404")),
}
# Bigger cities have more firms: 沈阳 and 大连 most.
CITY_WEIGHTS: dict[str, int] = {
    "沈阳市": 30, "大连市": 26, "鞍山市": 8, "抚顺市": 5, "本溪市": 4, "丹东市": 5, "锦州市": 5,
    "营口市": 5, "阜新市": 3, "辽阳市": 4, "盘锦市": 4, "铁岭市": 3, "朝阳市": 3, "葫芦岛市": 3,
}
_BRAND = (
    "华晟盛鑫科创新远航瑞锐博泰中德宏恒达源鼎海辰宇思睿嘉诚信联和腾飞天云星光启迪凯鸿"
    "北东方正精峰汇通弘昊"
)
_FIRM_TRADES = (
    "智能装备", "新材料", "生物医药", "精密机械", "信息技术", "软件", "电子科技", "环保科技",
    "光电技术", "数控技术", "机器人", "化工科技", "能源科技", "医疗器械", "汽车零部件",
    "农业科技", "海洋科技", "工业互联网", "集成电路", "储能技术", "氢能科技", "石化装备",
    "冶金技术", "节能科技", "航空部件", "轨道交通装备", "传感技术", "数据科技",
)
_PROVIDER_KINDS: dict[str, tuple[str, ...]] = {
    "patent_application": ("知识产权代理有限公司", "专利代理事务所有限公司"),
    "instrument_sharing": ("分析测试中心有限公司", "大型仪器共享服务有限公司"),
    "testing": ("检测技术有限公司", "检验检测认证有限公司"),
    "rd_design": ("工业设计有限公司", "研发技术服务有限公司"),
    "technology_transfer": ("技术转移服务有限公司", "科技成果转化中心有限公司"),
}
_SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
    "苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史"
    "顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
)
_GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍鹏建红志宇浩凯健俊帆帅旭宁"
    "龙林欣晨博文雪琳"
)
_BANKS = ("中国工商银行", "中国建设银行", "中国农业银行", "中国银行", "交通银行", "招商银行",
          "盛京银行", "大连银行", "兴业银行", "中信银行")
_FUNDS = ("辽宁省产业投资基金", "沈阳创新天使投资有限公司", "大连科技风险投资有限公司",
          "辽宁中德产业园投资有限公司", "东北振兴产业投资基金")
SIZES = ("micro", "small", "medium", "large")
# Award tiers and the registry's kinds: 雏鹰 carries no award of its own.
AWARD_KINDS = ("gazelle", "unicorn", "specialised", "little_giant")


@dataclass(frozen=True)
class DemoParty:
    """A generated party: its data and its certifications or registrations."""

    party: PartyData
    certifications: tuple[Certification, ...] = ()
    registrations: tuple[Registration, ...] = ()


def _person(rng: random.Random) -> str:
    given = "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2, 2))))
    return rng.choice(_SURNAMES) + given


def _credit_code(rng: random.Random, prefix: str, division: str, taken: set[str]) -> str:
    while True:
        body = "MA" + "".join(rng.choice(ALPHABET) for _ in range(7))
        first17 = prefix + division + body
        code = first17 + check_character(first17)
        if code not in taken:
            taken.add(code)
            return code


def _place(rng: random.Random) -> tuple[str, str, str]:
    city = rng.choices(list(CITY_WEIGHTS), weights=list(CITY_WEIGHTS.values()))[0]
    district, division = rng.choice(DISTRICTS[city])
    return city, district, division


def _bank(rng: random.Random, city: str, district: str) -> tuple[str, str]:
    bank = rng.choice(_BANKS)
    digits = "".join(rng.choice("0123456789") for _ in range(rng.choice((15, 17, 19))))
    return f"{bank}{city[:-1]}{district}支行", rng.choice("123456789") + digits


def _name(rng: random.Random, city: str, tail: str, taken: set[str]) -> str:
    while True:
        name = f"{city[:-1]}{rng.choice(_BRAND)}{rng.choice(_BRAND)}{tail}"
        if name not in taken:
            taken.add(name)
            return name


def _day(rng: random.Random, first: dt.date, last: dt.date) -> dt.date:
    return first + dt.timedelta(days=rng.randrange((last - first).days + 1))


def demo_providers(count: int, year: int) -> list[DemoParty]:
    """`count` providers; every service category is covered from the first five on."""
    rng = random.Random(SEED + 1)
    codes: set[str] = set()
    names: set[str] = set()
    out: list[DemoParty] = []
    for i in range(count):
        main = CATEGORIES[i % len(CATEGORIES)]
        extra = [c for c in CATEGORIES if c != main and rng.random() < 0.2]
        city, district, division = _place(rng)
        tail = rng.choice(_PROVIDER_KINDS[main])
        name = _name(rng, city, tail, names)
        rep = _person(rng)
        holders = (rep, *((_person(rng),) if rng.random() < 0.6 else ()))
        bank_name, account = _bank(rng, city, district)
        since = _day(rng, dt.date(year - 3, 1, 1), dt.date(year - 1, 6, 30))
        regs = tuple(Registration(c, since) for c in (main, *extra))
        party = PartyData(_credit_code(rng, "91", division, codes), name, city, district,
                          rng.choice(("micro", "small", "small", "medium")), rep, holders,
                          bank_name, account)
        out.append(DemoParty(party, registrations=regs))
    return out


def demo_firms(count: int, year: int, providers: list[DemoParty]) -> list[DemoParty]:
    """`count` firms with certifications; every 25th shares an owner with a provider."""
    rng = random.Random(SEED)
    codes = {p.party.credit_code for p in providers}
    names: set[str] = set()
    out: list[DemoParty] = []
    for i in range(count):
        city, district, division = _place(rng)
        trade = rng.choice(_FIRM_TRADES)
        kind = "股份有限公司" if rng.random() < 0.12 else "有限公司"
        name = _name(rng, city, trade + ("科技" if not trade.endswith(("科技", "技术")) else "")
                     + kind, names)
        rep = _person(rng)
        others = [_person(rng) for _ in range(rng.choice((0, 1, 1, 2)))]
        if rng.random() < 0.3:
            others.append(rng.choice(_FUNDS))
        related = i % 25 == 12 and bool(providers)
        if related:  # a related party: the provider's legal representative holds shares
            others.append(providers[(i // 25) % len(providers)].party.legal_rep)
        holders = tuple(dict.fromkeys((rep, *others)))
        bank = _bank(rng, city, district) if rng.random() < 0.85 else (None, None)
        size = rng.choices(SIZES, weights=(30, 45, 22, 3))[0]
        party = PartyData(_credit_code(rng, "91", division, codes), name, city, district, size,
                          rep, holders, bank[0], bank[1])
        out.append(DemoParty(party, certifications=_certifications(rng, year, related)))
    return out


def _certifications(rng: random.Random, year: int, sme: bool) -> tuple[Certification, ...]:
    """科技型中小企业 for most firms (last year too for many), and a few tier certifications."""
    certs: list[Certification] = []
    has_sme = rng.random() < 0.8 or sme
    if has_sme and rng.random() < 0.6:
        certs.append(Certification("tech_sme", year - 1,
                                   _day(rng, dt.date(year - 1, 3, 1), dt.date(year - 1, 6, 30))))
    if has_sme:
        certs.append(Certification("tech_sme", year,
                                   _day(rng, dt.date(year, 1, 2), dt.date(year, 1, 4))))
    if rng.random() < 0.12:
        certs.append(Certification("chuying", year - 1,
                                   _day(rng, dt.date(year - 1, 5, 1), dt.date(year - 1, 10, 31))))
    # Older tier certifications, outside this year's award window.
    for kind, share in (("gazelle", 0.06), ("specialised", 0.05), ("little_giant", 0.01)):
        if rng.random() < share:
            certs.append(Certification(kind, year - 2,
                                       _day(rng, dt.date(year - 2, 4, 1),
                                            dt.date(year - 2, 11, 30))))
    return tuple(certs)
