"""Word lists for the synthetic benchmark sets.

The sample generator's vocabulary (``data/samples/generator/vocab.py``) is sized
for a few thousand customers; a million customers drawn from it would share
names far more often than real customers do. This module loads it (the file
is plain data) and widens it combinatorially: brands from pairs of syllables,
English surnames from stems and endings, Chinese brands from pairs of
characters. Everything is an ordered tuple, so a seed gives the same data.
"""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

from pypinyin import lazy_pinyin

SAMPLE_VOCAB = Path(__file__).resolve().parents[1] / "data" / "samples" / "generator" / "vocab.py"


@cache
def sample_vocab() -> ModuleType:
    """The sample generator's vocabulary module, loaded from its file."""
    spec = importlib.util.spec_from_file_location("_fusion_sample_vocab", SAMPLE_VOCAB)
    if spec is None or spec.loader is None:
        msg = f"cannot load the sample vocabulary from {SAMPLE_VOCAB}"
        raise ImportError(msg)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


EN_BRAND_STEMS: tuple[str, ...] = (
    "North", "Blue", "Silver", "Iron", "Red", "Green", "Bright", "Clear", "Stone", "Oak",
    "Pine", "Star", "Sun", "Moon", "Sky", "River", "Lake", "Harbor", "Summit", "Golden",
    "Crystal", "Eagle", "Falcon", "Maple", "Cedar", "Coral", "Delta", "Apex", "Nova", "Vertex",
    "Quantum", "Atlas", "Orion", "Titan", "Pacific", "Atlantic", "Prime", "Swift", "True", "Bold",
    "Evergreen", "White", "Black", "Copper", "Granite", "Meadow", "Willow", "Aspen", "Frontier",
    "Pioneer", "Liberty", "Crown", "Royal", "Noble", "Urban", "Metro", "Global", "Key", "Bridge",
    "Lion",
)  # fmt: skip
EN_BRAND_ENDINGS: tuple[str, ...] = (
    "wind", "peak", "field", "stone", "bridge", "gate", "way", "point", "line", "crest",
    "view", "haven", "wood", "brook", "ridge", "light", "water", "land", "works", "port",
    "mark", "path", "shore", "dale", "ford", "star", "wave", "rock", "spring", "vale",
    "hill", "fort", "sight", "forge", "stream", "side", "bay", "moor", "glen", "leaf",
)  # fmt: skip
EN_COMPANY_WORDS: tuple[str, ...] = (
    "Logistics", "Software", "Technologies", "Systems", "Trading", "Foods", "Manufacturing",
    "Consulting", "Healthcare", "Capital", "Partners", "Retail", "Engineering", "Labs",
    "International Trading", "Analytics", "Energy", "Industries", "Solutions", "Media",
    "Pharmaceuticals", "Electronics", "Education", "Design", "Holdings", "Networks",
    "Management Services", "Medical Devices", "Precision Engineering", "Transport",
)  # fmt: skip
EN_ABBREVIATIONS: tuple[tuple[str, str], ...] = (
    ("International", "Intl"),
    ("Technologies", "Tech"),
    ("Engineering", "Eng"),
    ("Management", "Mgmt"),
    ("Systems", "Sys"),
    ("Manufacturing", "Mfg"),
    ("Pharmaceuticals", "Pharma"),
)
EN_FIRST_NAMES_EXTRA: tuple[str, ...] = (
    "Aaron", "Adam", "Alan", "Albert", "Alexander", "Alice", "Amanda", "Amy", "Andrea", "Angela",
    "Anna", "Anthony", "Arthur", "Ashley", "Barbara", "Benjamin", "Betty", "Brandon", "Brenda",
    "Brian", "Bruce", "Carl", "Carol", "Catherine", "Charles", "Cheryl", "Christina", "Christine",
    "Cynthia", "Daniel", "Deborah", "Debra", "Dennis", "Diana", "Donald", "Donna", "Dorothy",
    "Douglas", "Dylan", "Edward", "Elizabeth", "Emily", "Emma", "Eric", "Ethan", "Evelyn",
    "Frances", "Frank", "Gary", "George", "Gloria", "Grace", "Gregory", "Hannah", "Harold",
    "Heather", "Helen", "Henry", "Jack", "Jacob", "Jacqueline", "Janet", "Janice", "Jason",
    "Jean", "Jeffrey", "Jeremy", "Jerry", "Jesse", "Joan", "Joe", "Jonathan", "Jordan", "Joseph",
    "Joshua", "Joyce", "Judith", "Judy", "Julia", "Julie", "Justin", "Karen", "Katherine",
    "Kathleen", "Keith", "Kelly", "Kenneth", "Kevin", "Kimberly", "Kyle", "Larry", "Laura",
    "Lawrence", "Linda", "Lisa", "Logan", "Lori", "Madison", "Margaret", "Maria", "Marie",
    "Marilyn", "Mark", "Martha", "Mary", "Matthew", "Megan", "Melissa", "Nancy", "Natalie",
    "Nathan", "Nicholas", "Nicole", "Noah", "Olivia", "Pamela", "Patricia", "Patrick", "Paul",
    "Peter", "Philip", "Rachel", "Ralph", "Randy", "Raymond", "Rebecca", "Richard", "Robert",
    "Roger", "Ronald", "Rose", "Russell", "Ruth", "Ryan", "Samantha", "Samuel", "Sandra", "Sara",
    "Scott", "Sean", "Sharon", "Shirley", "Sophia", "Stephanie", "Stephen", "Steven", "Susan",
    "Teresa", "Terry", "Theresa", "Thomas", "Timothy", "Tyler", "Victoria", "Vincent", "Virginia",
    "Walter", "Wayne", "William", "Willie", "Zachary",
)  # fmt: skip
EN_SURNAME_STEMS: tuple[str, ...] = (
    "Ash", "Black", "Brad", "Brom", "Cald", "Craw", "Dun", "Els", "Fair", "Farn", "Good",
    "Green", "Hall", "Hart", "Hay", "Hol", "Kings", "Lang", "Lind", "Mans", "Mar", "Mid",
    "Mor", "New", "Nor", "Pen", "Rad", "Ren", "Rut", "Shel", "Stan", "Stock", "Sut", "Thorn",
    "Wal", "Wes", "Whit", "Wim", "Wood", "Yar",
)  # fmt: skip
EN_SURNAME_ENDINGS: tuple[str, ...] = (
    "ley", "ford", "ton", "well", "worth", "wood", "by", "field", "more", "den", "ham",
    "wick", "stead", "combe", "bury", "land", "brook", "cott", "dale", "mont",
)  # fmt: skip
EN_STREET_KINDS: tuple[tuple[str, str], ...] = (
    ("Street", "St"),
    ("Avenue", "Ave"),
    ("Road", "Rd"),
    ("Boulevard", "Blvd"),
    ("Drive", "Dr"),
    ("Lane", "Ln"),
)
US_CITIES: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    ("San Francisco", "California", ("415", "628"), "941"),
    ("New York", "New York", ("212", "646", "917"), "100"),
    ("Chicago", "Illinois", ("312", "773"), "606"),
    ("Seattle", "Washington", ("206",), "981"),
    ("Austin", "Texas", ("512",), "787"),
    ("Boston", "Massachusetts", ("617",), "021"),
    ("Denver", "Colorado", ("303", "720"), "802"),
    ("Atlanta", "Georgia", ("404", "678"), "303"),
    ("Portland", "Oregon", ("503",), "972"),
    ("Miami", "Florida", ("305", "786"), "331"),
)
EN_FREE_MAIL: tuple[str, ...] = ("gmail.com", "yahoo.com", "outlook.com", "icloud.com")
CN_FREE_MAIL: tuple[str, ...] = ("qq.com", "163.com", "126.com", "sina.com", "foxmail.com")
CN_MOBILE_PREFIXES: tuple[str, ...] = (
    "130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152", "158",
    "159", "186", "187", "188", "177", "183", "189", "199",
)  # fmt: skip
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def pinyin_of(text: str) -> str:
    """Pinyin syllables of ``text`` run together, capitalised: '星辰' -> 'Xingchen'."""
    return "".join(lazy_pinyin(text)).capitalize()


@cache
def cn_brand_chars() -> tuple[tuple[str, str], ...]:
    """Distinct characters of the sample's Chinese brands with their pinyin."""
    seen: dict[str, str] = {}
    for brand, _ in sample_vocab().CN_BRANDS:
        for char in brand:
            seen.setdefault(char, lazy_pinyin(char)[0].lower())
    return tuple(seen.items())


@cache
def cn_industry_words() -> tuple[tuple[str, str], ...]:
    """(Chinese, English) industry words of Chinese company names."""
    words: list[tuple[str, str]] = []
    for options in sample_vocab().CN_INDUSTRY_WORDS.values():
        words.extend(options)
    return tuple(words)


@cache
def en_first_names() -> tuple[str, ...]:
    """English given names: the sample's and more, without repeats, in a fixed order."""
    names = list(sample_vocab().EN_FIRST_NAMES)
    names += [n for n in EN_FIRST_NAMES_EXTRA if n not in names]
    return tuple(names)


@cache
def en_surnames() -> tuple[str, ...]:
    """English surnames: the sample's real ones plus stem+ending composites."""
    names = list(sample_vocab().EN_SURNAMES)
    names += [s + e for s in EN_SURNAME_STEMS for e in EN_SURNAME_ENDINGS]
    return tuple(dict.fromkeys(names))


# Surnames with their share of the population in per cent: the Ministry of Public
# Security's 2019 ranking (top 100 cover about 86% of people); the rest of the
# population is spread over the rarer surnames below. Pinyin is written out:
# surnames read differently from the character's common reading (曾 Zeng, 单 Shan).
CN_SURNAME_SHARES: tuple[tuple[str, str, float], ...] = (
    ("王", "Wang", 7.12), ("李", "Li", 7.00), ("张", "Zhang", 6.74), ("刘", "Liu", 5.10),
    ("陈", "Chen", 4.61), ("杨", "Yang", 3.22), ("黄", "Huang", 2.45), ("赵", "Zhao", 2.19),
    ("吴", "Wu", 2.08), ("周", "Zhou", 1.92), ("徐", "Xu", 1.57), ("孙", "Sun", 1.51),
    ("马", "Ma", 1.47), ("朱", "Zhu", 1.39), ("胡", "Hu", 1.26), ("郭", "Guo", 1.15),
    ("何", "He", 1.13), ("林", "Lin", 1.10), ("高", "Gao", 1.07), ("罗", "Luo", 1.01),
    ("郑", "Zheng", 0.96), ("梁", "Liang", 0.88), ("谢", "Xie", 0.82), ("宋", "Song", 0.76),
    ("唐", "Tang", 0.74), ("许", "Xu", 0.71), ("韩", "Han", 0.68), ("冯", "Feng", 0.67),
    ("邓", "Deng", 0.66), ("曹", "Cao", 0.63), ("彭", "Peng", 0.62), ("曾", "Zeng", 0.60),
    ("肖", "Xiao", 0.60), ("田", "Tian", 0.56), ("董", "Dong", 0.55), ("袁", "Yuan", 0.53),
    ("潘", "Pan", 0.52), ("于", "Yu", 0.51), ("蒋", "Jiang", 0.50), ("蔡", "Cai", 0.49),
    ("余", "Yu", 0.47), ("杜", "Du", 0.46), ("叶", "Ye", 0.45), ("程", "Cheng", 0.44),
    ("苏", "Su", 0.43), ("魏", "Wei", 0.42), ("吕", "Lv", 0.41), ("丁", "Ding", 0.40),
    ("任", "Ren", 0.39), ("沈", "Shen", 0.38), ("姚", "Yao", 0.37), ("卢", "Lu", 0.36),
    ("姜", "Jiang", 0.35), ("崔", "Cui", 0.34), ("钟", "Zhong", 0.33), ("谭", "Tan", 0.32),
    ("陆", "Lu", 0.31), ("汪", "Wang", 0.30), ("范", "Fan", 0.29), ("金", "Jin", 0.28),
    ("石", "Shi", 0.28), ("廖", "Liao", 0.27), ("贾", "Jia", 0.27), ("夏", "Xia", 0.26),
    ("韦", "Wei", 0.26), ("付", "Fu", 0.25), ("方", "Fang", 0.25), ("白", "Bai", 0.24),
    ("邹", "Zou", 0.24), ("孟", "Meng", 0.23), ("熊", "Xiong", 0.23), ("秦", "Qin", 0.22),
    ("邱", "Qiu", 0.22), ("江", "Jiang", 0.21), ("尹", "Yin", 0.21), ("薛", "Xue", 0.20),
    ("闫", "Yan", 0.20), ("段", "Duan", 0.19), ("雷", "Lei", 0.19), ("侯", "Hou", 0.18),
    ("龙", "Long", 0.18), ("史", "Shi", 0.17), ("陶", "Tao", 0.17), ("黎", "Li", 0.16),
    ("贺", "He", 0.16), ("顾", "Gu", 0.15), ("毛", "Mao", 0.15), ("郝", "Hao", 0.14),
    ("龚", "Gong", 0.14), ("邵", "Shao", 0.14), ("万", "Wan", 0.13), ("钱", "Qian", 0.13),
    ("严", "Yan", 0.13), ("覃", "Qin", 0.12), ("武", "Wu", 0.12), ("戴", "Dai", 0.12),
    ("莫", "Mo", 0.11), ("孔", "Kong", 0.11), ("向", "Xiang", 0.11), ("汤", "Tang", 0.10),
    ("常", "Chang", 0.09), ("温", "Wen", 0.09), ("康", "Kang", 0.09), ("施", "Shi", 0.09),
    ("文", "Wen", 0.08), ("牛", "Niu", 0.08), ("樊", "Fan", 0.08), ("葛", "Ge", 0.08),
    ("邢", "Xing", 0.08), ("安", "An", 0.07), ("齐", "Qi", 0.07), ("易", "Yi", 0.07),
    ("乔", "Qiao", 0.07), ("伍", "Wu", 0.07), ("庞", "Pang", 0.07), ("颜", "Yan", 0.07),
    ("倪", "Ni", 0.06), ("庄", "Zhuang", 0.06), ("聂", "Nie", 0.06), ("章", "Zhang", 0.06),
    ("鲁", "Lu", 0.06), ("岳", "Yue", 0.06), ("翟", "Zhai", 0.06), ("殷", "Yin", 0.05),
    ("詹", "Zhan", 0.05), ("申", "Shen", 0.05), ("欧阳", "Ouyang", 0.05), ("耿", "Geng", 0.05),
    ("关", "Guan", 0.05), ("兰", "Lan", 0.05), ("焦", "Jiao", 0.05), ("俞", "Yu", 0.05),
    ("左", "Zuo", 0.05), ("柳", "Liu", 0.05), ("甘", "Gan", 0.05), ("祝", "Zhu", 0.05),
    ("包", "Bao", 0.04), ("宁", "Ning", 0.04), ("尚", "Shang", 0.04), ("符", "Fu", 0.04),
    ("舒", "Shu", 0.04), ("阮", "Ruan", 0.04), ("柯", "Ke", 0.04), ("纪", "Ji", 0.04),
    ("梅", "Mei", 0.04), ("童", "Tong", 0.04), ("凌", "Ling", 0.04), ("毕", "Bi", 0.04),
    ("单", "Shan", 0.03), ("季", "Ji", 0.03), ("裴", "Pei", 0.03), ("霍", "Huo", 0.03),
    ("涂", "Tu", 0.03), ("成", "Cheng", 0.03), ("苗", "Miao", 0.03), ("谷", "Gu", 0.03),
    ("盛", "Sheng", 0.03), ("曲", "Qu", 0.03), ("翁", "Weng", 0.03), ("冉", "Ran", 0.03),
    ("骆", "Luo", 0.03), ("蓝", "Lan", 0.03), ("路", "Lu", 0.03), ("游", "You", 0.03),
    ("司马", "Sima", 0.01), ("诸葛", "Zhuge", 0.01), ("上官", "Shangguan", 0.01),
)  # fmt: skip
# The most given names, in per mille of all people (surname-independent): the
# names behind the national lists of most common full names (张伟, 王伟, 王芳, 李伟,
# 李娜, 张敏, 李静, 王静, 刘伟, 王秀英 ...), about 0.3% of all people each at the top.
# The remaining ~88% of given names are composed from CN_GIVEN_CHAR_POOL.
CN_COMMON_GIVEN: tuple[tuple[str, float], ...] = (
    ("伟", 4.2), ("芳", 3.3), ("娜", 3.0), ("敏", 2.9), ("静", 2.9), ("秀英", 2.7),
    ("丽", 2.6), ("强", 2.4), ("磊", 2.3), ("军", 2.3), ("洋", 2.2), ("勇", 2.1),
    ("艳", 2.1), ("杰", 2.1), ("娟", 1.9), ("涛", 1.9), ("明", 1.8), ("超", 1.8),
    ("秀兰", 1.7), ("霞", 1.7), ("平", 1.6), ("刚", 1.6), ("桂英", 1.5), ("丹", 1.4),
    ("萍", 1.4), ("鹏", 1.3), ("辉", 1.3), ("玲", 1.3), ("燕", 1.3), ("华", 1.2),
    ("红", 1.2), ("玉兰", 1.1), ("飞", 1.1), ("鑫", 1.1), ("波", 1.0), ("斌", 1.0),
    ("宇", 1.0), ("浩", 1.0), ("凯", 0.9), ("健", 0.9), ("俊", 0.9), ("帆", 0.9),
    ("帅", 0.9), ("旭", 0.8), ("宁", 0.8), ("龙", 0.8), ("林", 0.8), ("欢", 0.8),
    ("阳", 0.8), ("建华", 0.8), ("亮", 0.8), ("成", 0.8), ("建国", 0.7), ("建军", 0.7),
    ("晨", 0.7), ("瑞", 0.7), ("志强", 0.7), ("兵", 0.7), ("雷", 0.7), ("东", 0.7),
    ("欣", 0.7), ("博", 0.6), ("彬", 0.6), ("坤", 0.6), ("丽娟", 0.6), ("淑珍", 0.6),
    ("海燕", 0.6), ("文", 0.6), ("婷", 0.6), ("倩", 0.6), ("子涵", 0.6), ("浩然", 0.6),
    ("梓涵", 0.5), ("一诺", 0.5), ("欣怡", 0.5), ("雨桐", 0.5), ("佳怡", 0.5), ("宇轩", 0.5),
)  # fmt: skip
# Characters of composed given names, most used first (drawn with Zipf weights).
CN_GIVEN_CHAR_POOL = (
    "伟华明丽建国文志军英平玉秀红海金小晓春林云立永德新东成俊杰芳敏静强磊涛斌鹏辉"
    "晨宇浩然欣怡思雨梓子涵轩佳嘉琪诗美玲兰梅桂凤霞燕艳娟婷倩雪琳颖慧瑶悦哲博远"
    "家豪宁振亮峰波超刚勇飞凯鑫旭阳帆帅龙健彬坤雷兵瑞翔宏亚清秋菊莉萍丹洁卫庆"
    "光荣胜利富贵福安康泽睿航铭昊逸辰皓宸煜锦程"
)
# Characters of Chinese trade names (字号), the popular ones first.
CN_BRAND_CHAR_POOL = (
    "鑫华恒瑞泰达盛丰源信德昌隆兴宏嘉鼎鸿博远卓越浩天润和合安顺福祥金新创智联科汇"
    "海峰腾飞龙星辰光明阳亿佳誉凯旺成东方中正荣晟皓拓睿捷泓晖锦铭帆航策启景立茂森"
    "禾沃蓝青宇尚优乐美万众弘骏豪富裕鹏程诚致协力同仁云图数迈驰跃耀晶芯通康迅展"
    "维奥思特普华盈易晨佰韵泽翔久辉永益广聚达元亨朗清"
)
# Industry words of Chinese company names: (Chinese, English, industry label).
CN_INDUSTRY_TERMS: tuple[tuple[str, str, str], ...] = (
    ("机械", "Machinery", "Manufacturing"),
    ("精密制造", "Precision Manufacturing", "Manufacturing"),
    ("电子", "Electronics", "Manufacturing"), ("新材料", "New Materials", "Manufacturing"),
    ("机电设备", "Electromechanical Equipment", "Manufacturing"),
    ("新能源", "New Energy", "Manufacturing"), ("汽车零部件", "Auto Parts", "Manufacturing"),
    ("贸易", "Trading", "Retail"), ("商贸", "Commerce and Trade", "Retail"),
    ("百货", "Department Store", "Retail"), ("电子商务", "E-commerce", "Retail"),
    ("进出口", "Import and Export", "Retail"), ("实业", "Industrial", "Retail"),
    ("科技", "Technology", "Software"), ("软件", "Software", "Software"),
    ("信息技术", "Information Technology", "Software"),
    ("网络科技", "Network Technology", "Software"), ("数据科技", "Data Technology", "Software"),
    ("智能科技", "Intelligent Technology", "Software"),
    ("物流", "Logistics", "Logistics"), ("供应链管理", "Supply Chain Management", "Logistics"),
    ("运输", "Transportation", "Logistics"),
    ("国际货运代理", "International Freight Forwarding", "Logistics"),
    ("投资", "Investment", "Finance"), ("资产管理", "Asset Management", "Finance"),
    ("融资租赁", "Financial Leasing", "Finance"),
    ("医疗器械", "Medical Devices", "Healthcare"), ("医药", "Pharmaceutical", "Healthcare"),
    ("健康科技", "Health Technology", "Healthcare"), ("生物科技", "Biotechnology", "Healthcare"),
    ("教育科技", "Education Technology", "Education"),
    ("文化传播", "Culture Communication", "Education"),
    ("餐饮管理", "Catering Management", "Food & Beverage"),
    ("食品", "Food", "Food & Beverage"), ("饮品", "Beverage", "Food & Beverage"),
)  # fmt: skip
CN_LEGAL_FORM_SHARES: tuple[tuple[str, str, str, float], ...] = (
    # (Chinese, English, pinyin, share)
    ("有限公司", "Co., Ltd.", "Youxian Gongsi", 0.78),
    ("股份有限公司", "Co., Ltd.", "Gufen Youxian Gongsi", 0.12),
    ("有限责任公司", "Co., Ltd.", "Youxian Zeren Gongsi", 0.10),
)
# English names Chinese colleagues go by at work (a ticket's requester is often one).
CN_ENGLISH_NAMES: tuple[str, ...] = (
    "Kevin", "Jason", "Tony", "Jack", "Eric", "Leo", "Peter", "David", "Frank", "Vincent",
    "Alex", "Sunny", "Cindy", "Lily", "Amy", "Grace", "Vivian", "Coco", "Emma", "Jessie",
)  # fmt: skip
# Shop account nicknames: these are not names (and say nothing about the person).
SHOP_NICK_HEADS: tuple[str, ...] = (
    "快乐的", "小", "爱吃", "阳光", "甜甜的", "安静的", "追风的", "奔跑的", "会飞的", "大",
)  # fmt: skip
SHOP_NICK_TAILS: tuple[str, ...] = (
    "鱼", "猫咪", "兔子", "小熊", "橙子", "西瓜", "蜗牛", "星星", "月亮", "豆豆", "布丁", "土豆",
)  # fmt: skip
EN_SHOP_NICKS: tuple[str, ...] = (
    "sunny", "happyfish", "bluebird", "coolcat", "dreamer", "nightowl", "lucky", "shopper",
)  # fmt: skip
# Pick-up points and forwarding warehouses: many customers' parcels go there.
CN_PICKUP_POINTS: tuple[str, ...] = (
    "菜鸟驿站", "丰巢快递柜", "京东自提点", "妈妈驿站", "兔喜生活", "顺丰集货仓",
)  # fmt: skip
EN_NICKNAMES: dict[str, str] = {
    "Robert": "Bob", "William": "Bill", "Richard": "Rick", "Michael": "Mike", "James": "Jim",
    "Thomas": "Tom", "Daniel": "Dan", "Matthew": "Matt", "Andrew": "Andy", "Steven": "Steve",
    "Joseph": "Joe", "Christopher": "Chris", "Elizabeth": "Liz", "Jennifer": "Jen",
    "Katherine": "Kate", "Margaret": "Maggie", "Patricia": "Pat", "Samantha": "Sam",
    "Jonathan": "Jon", "Benjamin": "Ben", "Nicholas": "Nick", "Anthony": "Tony",
    "Alexander": "Alex", "Rebecca": "Becky", "Victoria": "Vicky", "Timothy": "Tim",
}  # fmt: skip
CHANGE_OF_TIER: dict[str, str] = {"S": "A", "A": "B", "B": "A", "C": "B"}


@cache
def cn_pinyin(text: str) -> str:
    """Pinyin of a given name or brand run together, capitalised: '建华' -> 'Jianhua'."""
    return "".join(lazy_pinyin(text)).capitalize()


@cache
def ime_homophones() -> dict[str, str]:
    """Each character of the name pools mapped to another with the same toneless pinyin.

    These are the slips of a pinyin input method: the user types 'xin' and picks
    the wrong candidate (鑫 for 新, 华 for 化). Characters without a homophone in
    the pools are left out.
    """
    pool = dict.fromkeys(
        CN_GIVEN_CHAR_POOL
        + CN_BRAND_CHAR_POOL
        + "".join(s for s, _, _ in CN_SURNAME_SHARES if len(s) == 1)
        + "".join(g for g, _ in CN_COMMON_GIVEN)
        + "".join(t for t, _, _ in CN_INDUSTRY_TERMS)
    )
    groups: dict[str, list[str]] = {}
    for char in pool:
        groups.setdefault(lazy_pinyin(char)[0], []).append(char)
    table: dict[str, str] = {}
    for chars in groups.values():
        for i, char in enumerate(chars):
            if len(chars) > 1:
                table[char] = chars[(i + 1) % len(chars)]
    return table
