"""Word lists the simulated world is built from.

The lists are deliberately small enough to force collisions (shared brands,
common person names) yet large enough for thousands of distinct customers.
Everything here is plain data; the order of every list matters for
reproducibility, so never build these from sets.
"""

from __future__ import annotations

from dataclasses import dataclass

INDUSTRIES: tuple[str, ...] = (
    "Manufacturing",
    "Retail",
    "Software",
    "Logistics",
    "Finance",
    "Healthcare",
    "Education",
    "Food & Beverage",
)
INDUSTRY_ZH: dict[str, str] = dict(
    zip(INDUSTRIES, ("制造业", "零售", "软件", "物流", "金融", "医疗", "教育", "餐饮"), strict=True)
)
SIZE_BANDS: tuple[str, ...] = ("1-9", "10-49", "50-249", "250-999", "1000+")
SIZE_BAND_ZH: dict[str, str] = dict(
    zip(SIZE_BANDS, ("1-9人", "10-49人", "50-249人", "250-999人", "1000人以上"), strict=True)
)
COUNTRY_EN: dict[str, str] = {
    "CN": "China",
    "US": "United States",
    "GB": "United Kingdom",
    "SG": "Singapore",
    "DE": "Germany",
}
COUNTRY_ZH: dict[str, str] = {
    "CN": "中国", "US": "美国", "GB": "英国", "SG": "新加坡", "DE": "德国",
}
ERP_TIER: dict[str, str] = {"S": "VIP", "A": "PRO", "B": "STD"}


@dataclass(frozen=True)
class CnCity:
    """A mainland city with the codes its phones, postcodes and tax ids use."""

    name: str
    region: str
    latin: str
    area_code: str
    postcode_prefix: str
    admin_prefix: str
    districts: tuple[str, ...]
    weight: float


CN_CITIES: tuple[CnCity, ...] = (
    CnCity("上海", "上海市", "Shanghai", "21", "200", "3101",
           ("浦东新区", "徐汇区", "静安区", "闵行区", "长宁区", "杨浦区"), 5.0),
    CnCity("北京", "北京市", "Beijing", "10", "100", "1101",
           ("朝阳区", "海淀区", "东城区", "西城区", "丰台区"), 4.5),
    CnCity("深圳", "广东省", "Shenzhen", "755", "518", "4403",
           ("南山区", "福田区", "罗湖区", "宝安区", "龙岗区"), 3.5),
    CnCity("广州", "广东省", "Guangzhou", "20", "510", "4401",
           ("天河区", "越秀区", "海珠区", "白云区", "番禺区"), 3.0),
    CnCity("杭州", "浙江省", "Hangzhou", "571", "310", "3301",
           ("西湖区", "滨江区", "上城区", "拱墅区", "余杭区"), 3.0),
    CnCity("南京", "江苏省", "Nanjing", "25", "210", "3201",
           ("鼓楼区", "玄武区", "秦淮区", "建邺区", "江宁区"), 2.0),
    CnCity("苏州", "江苏省", "Suzhou", "512", "215", "3205",
           ("姑苏区", "吴中区", "相城区", "虎丘区"), 2.0),
    CnCity("成都", "四川省", "Chengdu", "28", "610", "5101",
           ("武侯区", "锦江区", "青羊区", "成华区", "金牛区"), 2.0),
    CnCity("武汉", "湖北省", "Wuhan", "27", "430", "4201",
           ("江汉区", "武昌区", "洪山区", "汉阳区", "江岸区"), 1.5),
    CnCity("天津", "天津市", "Tianjin", "22", "300", "1201",
           ("和平区", "河西区", "南开区", "滨海新区", "河东区"), 1.5),
    CnCity("重庆", "重庆市", "Chongqing", "23", "400", "5001",
           ("渝中区", "江北区", "南岸区", "九龙坡区", "渝北区"), 1.5),
    CnCity("西安", "陕西省", "Xi'an", "29", "710", "6101",
           ("雁塔区", "碑林区", "新城区", "未央区", "莲湖区"), 1.2),
    CnCity("青岛", "山东省", "Qingdao", "532", "266", "3702",
           ("市南区", "市北区", "崂山区", "黄岛区", "李沧区"), 1.0),
    CnCity("宁波", "浙江省", "Ningbo", "574", "315", "3302",
           ("海曙区", "江北区", "鄞州区", "北仑区", "镇海区"), 1.0),
    CnCity("厦门", "福建省", "Xiamen", "592", "361", "3502",
           ("思明区", "湖里区", "集美区", "海沧区"), 1.0),
    CnCity("长沙", "湖南省", "Changsha", "731", "410", "4301",
           ("岳麓区", "芙蓉区", "天心区", "开福区", "雨花区"), 1.0),
    CnCity("郑州", "河南省", "Zhengzhou", "371", "450", "4101",
           ("金水区", "二七区", "中原区", "惠济区"), 1.0),
    CnCity("合肥", "安徽省", "Hefei", "551", "230", "3401",
           ("蜀山区", "包河区", "庐阳区", "瑶海区"), 0.8),
    CnCity("济南", "山东省", "Jinan", "531", "250", "3701",
           ("历下区", "市中区", "槐荫区", "天桥区"), 0.8),
    CnCity("福州", "福建省", "Fuzhou", "591", "350", "3501",
           ("鼓楼区", "台江区", "仓山区", "晋安区"), 0.8),
)

CN_STREETS: tuple[str, ...] = (
    "人民路", "中山路", "解放路", "建设路", "和平路", "长江路", "黄河路", "科技路",
    "创新大道", "滨江大道", "南京路", "北京路", "文化路", "学府路", "东风路", "世纪大道",
    "新华路", "青年路", "朝阳路", "光明路", "振兴路", "迎宾大道", "华山路", "东方路",
    "龙华路", "湖滨路", "江南大道", "高新路", "工业园路", "金桥路", "张江路", "淮海路",
    "延安路", "复兴路", "环城路", "花园路", "胜利路", "五一路", "友谊路", "团结路",
)
CN_BUILDINGS: tuple[str, ...] = (
    "环球", "财富", "时代", "汇金", "新世纪", "东方", "银河", "国贸", "金融", "华润",
)
CN_BUILDING_KINDS: tuple[str, ...] = ("大厦", "中心", "广场")

# Brands: two characters, with the pinyin written out so renderings stay exact.
CN_BRANDS: tuple[tuple[str, str], ...] = (
    ("星辰", "Xingchen"), ("华拓", "Huatuo"), ("恒通", "Hengtong"), ("鼎盛", "Dingsheng"),
    ("瑞丰", "Ruifeng"), ("天成", "Tiancheng"), ("金达", "Jinda"), ("宏远", "Hongyuan"),
    ("中联", "Zhonglian"), ("新创", "Xinchuang"), ("博远", "Boyuan"), ("永信", "Yongxin"),
    ("安泰", "Antai"), ("汇丰", "Huifeng"), ("鸿基", "Hongji"), ("远洋", "Yuanyang"),
    ("明德", "Mingde"), ("君合", "Junhe"), ("嘉禾", "Jiahe"), ("百川", "Baichuan"),
    ("东升", "Dongsheng"), ("华信", "Huaxin"), ("海纳", "Haina"), ("金桥", "Jinqiao"),
    ("正泰", "Zhengtai"), ("天宇", "Tianyu"), ("同创", "Tongchuang"), ("立信", "Lixin"),
    ("盛世", "Shengshi"), ("凯旋", "Kaixuan"), ("蓝海", "Lanhai"), ("云帆", "Yunfan"),
    ("青松", "Qingsong"), ("润泽", "Runze"), ("万邦", "Wanbang"), ("启明", "Qiming"),
    ("德润", "Derun"), ("富安", "Fu'an"), ("长青", "Changqing"), ("锦程", "Jincheng"),
    ("辰光", "Chenguang"), ("华瑞", "Huarui"), ("飞扬", "Feiyang"), ("融通", "Rongtong"),
    ("恒泰", "Hengtai"), ("佳美", "Jiamei"), ("宝丰", "Baofeng"), ("弘毅", "Hongyi"),
    ("智联", "Zhilian"), ("领航", "Linghang"), ("卓越", "Zhuoyue"), ("创优", "Chuangyou"),
    ("远大", "Yuanda"), ("银泰", "Yintai"), ("新锐", "Xinrui"), ("通达", "Tongda"),
    ("华美", "Huamei"), ("兴业", "Xingye"), ("东方", "Dongfang"), ("国泰", "Guotai"),
    ("亿家", "Yijia"), ("鑫源", "Xinyuan"), ("康泰", "Kangtai"), ("浩天", "Haotian"),
    ("中科", "Zhongke"), ("祥和", "Xianghe"), ("达信", "Daxin"), ("海川", "Haichuan"),
    ("泰和", "Taihe"), ("宇航", "Yuhang"), ("和信", "Hexin"), ("金鹏", "Jinpeng"),
    ("合众", "Hezhong"), ("华晨", "Huachen"), ("盈科", "Yingke"), ("尚品", "Shangpin"),
    ("易达", "Yida"), ("优品", "Youpin"), ("嘉信", "Jiaxin"), ("鼎新", "Dingxin"),
    ("恒远", "Hengyuan"), ("明珠", "Mingzhu"), ("晨曦", "Chenxi"), ("福瑞", "Furui"),
    ("雅诚", "Yacheng"), ("新天", "Xintian"), ("广源", "Guangyuan"), ("瀚海", "Hanhai"),
    ("骏马", "Junma"), ("朗润", "Langrun"), ("信达", "Xinda"), ("青云", "Qingyun"),
    ("旭日", "Xuri"), ("昌盛", "Changsheng"), ("华夏", "Huaxia"), ("乐途", "Letu"),
    ("美达", "Meida"), ("聚源", "Juyuan"), ("创新", "Chuangxin"), ("天润", "Tianrun"),
)

# Industry words in Chinese company names, with their English rendering.
CN_INDUSTRY_WORDS: dict[str, tuple[tuple[str, str], ...]] = {
    "Manufacturing": (("机械", "Machinery"), ("精密制造", "Precision Manufacturing"),
                      ("电子", "Electronics"), ("新材料", "New Materials"),
                      ("机电", "Electromechanical")),
    "Retail": (("贸易", "Trading"), ("商贸", "Commerce and Trade"), ("百货", "Department Store"),
               ("电子商务", "E-commerce"), ("进出口", "Import and Export")),
    "Software": (("科技", "Technology"), ("软件", "Software"),
                 ("信息技术", "Information Technology"), ("网络科技", "Network Technology"),
                 ("数据科技", "Data Technology")),
    "Logistics": (("物流", "Logistics"), ("供应链管理", "Supply Chain Management"),
                  ("运输", "Transportation"), ("国际货运代理", "International Freight Forwarding")),
    "Finance": (("投资", "Investment"), ("资产管理", "Asset Management"),
                ("融资租赁", "Financial Leasing"),
                ("金融信息服务", "Financial Information Services")),
    "Healthcare": (("医疗器械", "Medical Devices"), ("医药", "Pharmaceutical"),
                   ("健康科技", "Health Technology"), ("生物科技", "Biotechnology")),
    "Education": (("教育科技", "Education Technology"), ("教育咨询", "Education Consulting"),
                  ("文化传播", "Culture Communication"), ("职业培训", "Vocational Training")),
    "Food & Beverage": (("餐饮管理", "Catering Management"), ("食品", "Food"),
                        ("饮品", "Beverage"), ("餐饮", "Catering")),
}
CN_LEGAL_FORMS: tuple[tuple[str, float], ...] = (
    ("有限公司", 0.72), ("股份有限公司", 0.16), ("有限责任公司", 0.12),
)
CN_LEGAL_LATIN: dict[str, tuple[str, ...]] = {
    "有限公司": ("Co., Ltd.", "Co. Ltd", "Co.,Ltd.", "Limited"),
    "股份有限公司": ("Co., Ltd.", "Corp., Ltd.", "Co. Ltd"),
    "有限责任公司": ("Co., Ltd.", "Co. Ltd", "LLC"),
}

# Characters that are plausibly mistyped for one another (same pinyin input).
CN_SIMILAR_CHARS: dict[str, str] = {
    "辰": "晨", "晨": "辰", "华": "化", "拓": "托", "鼎": "顶", "瑞": "睿", "恒": "衡",
    "通": "同", "达": "大", "盛": "胜", "丰": "峰", "远": "源", "信": "新", "泰": "太",
    "伟": "玮", "娜": "那", "敏": "民", "静": "晶", "丽": "莉", "军": "君", "杰": "洁",
    "磊": "蕾", "涛": "滔", "明": "铭", "勇": "永", "燕": "艳", "鹏": "朋", "强": "墙",
    "贸": "茂", "易": "意", "科": "可", "技": "枝", "物": "务", "流": "留",
}

# Surname -> pinyin, weighted by frequency.
CN_SURNAMES: tuple[tuple[str, str, float], ...] = (
    ("王", "Wang", 7.1), ("李", "Li", 7.0), ("张", "Zhang", 6.7), ("刘", "Liu", 5.4),
    ("陈", "Chen", 4.5), ("杨", "Yang", 3.1), ("黄", "Huang", 2.2), ("赵", "Zhao", 2.0),
    ("吴", "Wu", 1.8), ("周", "Zhou", 1.7), ("徐", "Xu", 1.3), ("孙", "Sun", 1.2),
    ("马", "Ma", 1.1), ("朱", "Zhu", 1.1), ("胡", "Hu", 1.0), ("郭", "Guo", 1.0),
    ("何", "He", 0.9), ("林", "Lin", 0.9), ("高", "Gao", 0.9), ("罗", "Luo", 0.8),
    ("郑", "Zheng", 0.8), ("梁", "Liang", 0.7), ("谢", "Xie", 0.6), ("宋", "Song", 0.5),
    ("唐", "Tang", 0.5), ("许", "Xu", 0.5), ("韩", "Han", 0.5), ("冯", "Feng", 0.5),
    ("邓", "Deng", 0.5), ("曹", "Cao", 0.4), ("彭", "Peng", 0.4), ("曾", "Zeng", 0.4),
    ("肖", "Xiao", 0.4), ("田", "Tian", 0.3), ("董", "Dong", 0.3), ("潘", "Pan", 0.3),
    ("袁", "Yuan", 0.3), ("蔡", "Cai", 0.3), ("蒋", "Jiang", 0.3), ("余", "Yu", 0.3),
)
# Characters used in given names, each with one common reading, with pinyin.
# The first ones also stand alone as one-character given names.
CN_GIVEN_CHARS: tuple[tuple[str, str], ...] = (
    ("伟", "Wei"), ("芳", "Fang"), ("娜", "Na"), ("敏", "Min"), ("静", "Jing"), ("丽", "Li"),
    ("强", "Qiang"), ("磊", "Lei"), ("军", "Jun"), ("洋", "Yang"), ("勇", "Yong"), ("艳", "Yan"),
    ("杰", "Jie"), ("娟", "Juan"), ("涛", "Tao"), ("明", "Ming"), ("超", "Chao"), ("霞", "Xia"),
    ("平", "Ping"), ("刚", "Gang"), ("凯", "Kai"), ("鹏", "Peng"), ("飞", "Fei"), ("斌", "Bin"),
    ("辉", "Hui"), ("倩", "Qian"), ("婷", "Ting"), ("雪", "Xue"), ("琳", "Lin"), ("颖", "Ying"),
    ("秀", "Xiu"), ("英", "Ying"), ("桂", "Gui"), ("建", "Jian"), ("华", "Hua"), ("志", "Zhi"),
    ("文", "Wen"), ("博", "Bo"), ("子", "Zi"), ("涵", "Han"), ("浩", "Hao"), ("然", "Ran"),
    ("欣", "Xin"), ("怡", "Yi"), ("思", "Si"), ("远", "Yuan"), ("雨", "Yu"), ("桐", "Tong"),
    ("宇", "Yu"), ("轩", "Xuan"), ("梓", "Zi"), ("萱", "Xuan"), ("晓", "Xiao"), ("东", "Dong"),
    ("海", "Hai"), ("燕", "Yan"), ("国", "Guo"), ("庆", "Qing"), ("春", "Chun"), ("梅", "Mei"),
    ("俊", "Jun"), ("佳", "Jia"), ("鸣", "Ming"), ("天", "Tian"), ("红", "Hong"), ("玉", "Yu"),
    ("兰", "Lan"), ("晨", "Chen"), ("昊", "Hao"), ("宁", "Ning"), ("家", "Jia"), ("豪", "Hao"),
    ("嘉", "Jia"), ("琪", "Qi"), ("诗", "Shi"), ("振", "Zhen"), ("美", "Mei"), ("玲", "Ling"),
    ("立", "Li"), ("新", "Xin"), ("秋", "Qiu"), ("菊", "Ju"), ("德", "De"), ("永", "Yong"),
    ("金", "Jin"), ("亮", "Liang"), ("成", "Cheng"), ("林", "Lin"), ("云", "Yun"), ("峰", "Feng"),
    ("波", "Bo"), ("瑶", "Yao"), ("欢", "Huan"), ("悦", "Yue"), ("哲", "Zhe"), ("慧", "Hui"),
)
CN_SINGLE_GIVEN = 30
# Full names so common that several different customers carry them.
CN_COMMON_FULL_NAMES: tuple[tuple[str, str], ...] = (
    ("王", "伟"), ("李", "娜"), ("张", "伟"), ("王", "芳"), ("李", "伟"), ("刘", "洋"),
    ("张", "敏"), ("王", "静"), ("李", "强"), ("陈", "静"),
)

EN_FIRST_NAMES: tuple[str, ...] = (
    "John", "Michael", "David", "James", "Robert", "William", "Richard", "Thomas", "Daniel",
    "Matthew", "Andrew", "Mark", "Paul", "Steven", "Kevin", "Brian", "Jason", "Ryan", "Eric",
    "Peter", "Sarah", "Emma", "Olivia", "Emily", "Jessica", "Jennifer", "Laura", "Rachel",
    "Hannah", "Sophie", "Charlotte", "Lucy", "Amy", "Rebecca", "Anna", "Grace", "Claire",
    "Karen", "Susan", "Linda", "Megan", "Natalie", "Victoria", "Helen", "Alice", "Julia",
)
EN_SURNAMES: tuple[str, ...] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Taylor",
    "Anderson", "Thomas", "Moore", "Martin", "Jackson", "Thompson", "White", "Harris", "Clark",
    "Lewis", "Walker", "Hall", "Allen", "Young", "King", "Wright", "Scott", "Green", "Baker",
    "Adams", "Nelson", "Carter", "Mitchell", "Roberts", "Turner", "Phillips", "Campbell",
    "Parker", "Evans", "Edwards", "Collins", "Stewart", "Morris", "Murphy", "Cook", "Rogers",
)
SG_SURNAMES: tuple[str, ...] = (
    "Tan", "Lim", "Lee", "Ng", "Wong", "Goh", "Chua", "Ong", "Koh", "Teo",
)
DE_FIRST_NAMES: tuple[str, ...] = (
    "Lukas", "Jonas", "Felix", "Maximilian", "Leon", "Paul", "Anna", "Lena", "Laura", "Julia",
    "Katharina", "Sophie", "Stefan", "Andreas", "Markus", "Tobias", "Sabine", "Claudia",
)
DE_SURNAMES: tuple[str, ...] = (
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
    "Schulz", "Hoffmann", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Neumann",
)
EN_COMMON_FULL_NAMES: tuple[tuple[str, str], ...] = (
    ("John", "Smith"), ("David", "Lee"), ("Michael", "Brown"), ("Sarah", "Johnson"),
    ("James", "Wilson"), ("Emma", "Taylor"), ("Kevin", "Tan"), ("Thomas", "Müller"),
)

EN_BRANDS: tuple[str, ...] = (
    "Northwind", "Bluepeak", "Harbor", "Silverline", "Redwood", "Brightwater", "Ironbridge",
    "Summit", "Clearview", "Evergreen", "Starling", "Oakridge", "Granite", "Meridian",
    "Pinnacle", "Riverstone", "Lighthouse", "Westbrook", "Crescent", "Falcon", "Horizon",
    "Keystone", "Maple", "Nimbus", "Orchard", "Pioneer", "Quantum", "Sterling", "Tidewater",
    "Unity", "Vanguard", "Willow", "Zenith", "Atlas", "Beacon", "Cobalt", "Driftwood",
    "Ember", "Foxglove", "Goldleaf", "Highland", "Juniper", "Kingsway", "Lakeside",
    "Moonstone", "Northstar", "Oceanic", "Parkside", "Rosewood", "Sapphire", "Thornbury",
    "Upland", "Velvet", "Windmill", "Yellowstone", "Alder", "Bramble", "Copperfield",
    "Dunmore", "Eastgate", "Fairhaven", "Greystone", "Hollowell", "Ashford", "Blackwood",
)
EN_INDUSTRY_WORDS: dict[str, tuple[str, ...]] = {
    "Manufacturing": ("Manufacturing", "Industries", "Precision Engineering", "Machinery"),
    "Retail": ("Retail", "Trading", "Stores", "International Trading"),
    "Software": ("Software", "Technology", "Technologies", "Systems", "Digital"),
    "Logistics": ("Logistics", "Freight", "Shipping", "International Logistics"),
    "Finance": ("Capital", "Financial", "Investments", "Asset Management"),
    "Healthcare": ("Health", "Medical", "Healthcare", "Life Sciences"),
    "Education": ("Learning", "Education", "Academy", "Training"),
    "Food & Beverage": ("Foods", "Food & Beverage", "Kitchens", "Beverages"),
}
EN_LEGAL_FORMS: dict[str, tuple[tuple[str, float], ...]] = {
    "US": (("Inc.", 0.5), ("LLC", 0.3), ("Corp.", 0.2)),
    "GB": (("Ltd", 0.6), ("Limited", 0.25), ("PLC", 0.15)),
    "SG": (("Pte. Ltd.", 1.0),),
    "DE": (("GmbH", 0.8), ("AG", 0.2)),
}
EN_LEGAL_VARIANTS: dict[str, tuple[str, ...]] = {
    "Inc.": ("Inc", "Incorporated", "INC"),
    "LLC": ("L.L.C.", "Llc"),
    "Corp.": ("Corp", "Corporation"),
    "Ltd": ("Ltd.", "Limited", "LTD"),
    "Limited": ("Ltd", "Ltd."),
    "PLC": ("plc", "P.L.C."),
    "Pte. Ltd.": ("Pte Ltd", "Private Limited", "PTE LTD"),
    "GmbH": ("Gmbh", "GMBH"),
    "AG": ("A.G.",),
}
EN_ABBREVIATIONS: tuple[tuple[str, str], ...] = (
    ("International", "Intl"), ("Technologies", "Tech"), ("Technology", "Tech"),
    ("Manufacturing", "Mfg"), ("Engineering", "Eng."), ("Management", "Mgmt"),
    ("Systems", "Sys"), (" & ", " and "),
)


@dataclass(frozen=True)
class IntlCity:
    """An international city, with the phone area codes and postcodes it uses."""

    country: str
    name: str
    region: str
    region_abbr: str
    area_codes: tuple[str, ...]
    postcodes: tuple[str, ...]


INTL_CITIES: tuple[IntlCity, ...] = (
    IntlCity("US", "San Francisco", "California", "CA", ("415", "628"), ("941",)),
    IntlCity("US", "New York", "New York", "NY", ("212", "646", "917"), ("100",)),
    IntlCity("US", "Chicago", "Illinois", "IL", ("312", "773"), ("606",)),
    IntlCity("US", "Seattle", "Washington", "WA", ("206",), ("981",)),
    IntlCity("US", "Austin", "Texas", "TX", ("512",), ("787",)),
    IntlCity("US", "Boston", "Massachusetts", "MA", ("617",), ("021",)),
    IntlCity("GB", "London", "Greater London", "London", ("20",), ("EC1A", "SW1A", "E14", "W1D")),
    IntlCity("GB", "Manchester", "Greater Manchester", "Manchester", ("161",), ("M1", "M2")),
    IntlCity("GB", "Birmingham", "West Midlands", "W Midlands", ("121",), ("B1", "B2")),
    IntlCity("GB", "Edinburgh", "City of Edinburgh", "Edinburgh", ("131",), ("EH1", "EH2")),
    IntlCity("SG", "Singapore", "Singapore", "SG", ("6",), ("01", "04", "05", "23")),
    IntlCity("DE", "Berlin", "Berlin", "BE", ("30",), ("101", "104")),
    IntlCity("DE", "München", "Bayern", "BY", ("89",), ("803", "806")),
    IntlCity("DE", "Hamburg", "Hamburg", "HH", ("40",), ("200", "203")),
    IntlCity("DE", "Frankfurt am Main", "Hessen", "HE", ("69",), ("603", "604")),
)
INTL_COUNTRY_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("US", 0.40), ("GB", 0.25), ("SG", 0.20), ("DE", 0.15),
)
EN_STREET_NAMES: tuple[str, ...] = (
    "Market", "Main", "Oak", "Maple", "Pine", "Cedar", "Elm", "Washington", "Lake", "Hill",
    "Park", "High", "Church", "Station", "King", "Queen", "Victoria", "Mill", "River", "Bridge",
)
EN_STREET_KINDS: tuple[tuple[str, str], ...] = (
    ("Street", "St"), ("Avenue", "Ave"), ("Road", "Rd"), ("Boulevard", "Blvd"),
    ("Lane", "Ln"), ("Drive", "Dr"),
)
SG_STREETS: tuple[str, ...] = (
    "Anson Road", "Raffles Place", "Robinson Road", "Cecil Street", "Orchard Road",
    "Shenton Way", "Cross Street", "Beach Road", "Tanjong Pagar Road", "Jurong East Street 21",
)
DE_STREETS: tuple[str, ...] = (
    "Hauptstraße", "Friedrichstraße", "Bahnhofstraße", "Gartenweg", "Schillerstraße",
    "Goethestraße", "Lindenallee", "Berliner Straße", "Kirchweg", "Marktplatz",
)

CN_FREE_MAIL: tuple[tuple[str, float], ...] = (
    ("qq.com", 0.35), ("163.com", 0.25), ("126.com", 0.12), ("sina.com", 0.06),
    ("foxmail.com", 0.08), ("outlook.com", 0.06), ("gmail.com", 0.08),
)
INTL_FREE_MAIL: dict[str, tuple[tuple[str, float], ...]] = {
    "US": (("gmail.com", 0.5), ("yahoo.com", 0.2), ("outlook.com", 0.2), ("icloud.com", 0.1)),
    "GB": (("gmail.com", 0.4), ("hotmail.co.uk", 0.25), ("outlook.com", 0.2),
           ("btinternet.com", 0.15)),
    "SG": (("gmail.com", 0.5), ("singnet.com.sg", 0.2), ("yahoo.com.sg", 0.15),
           ("outlook.com", 0.15)),
    "DE": (("gmx.de", 0.35), ("web.de", 0.3), ("gmail.com", 0.25), ("t-online.de", 0.1)),
}

TICKET_SUBJECTS_ZH: tuple[str, ...] = (
    "发票开具问题", "订单延迟发货", "账号无法登录", "退款申请", "修改收货地址", "合同续签咨询",
    "产品质量投诉", "对账单核对", "开通新用户权限", "价格咨询", "售后维修", "系统报错",
)
TICKET_SUBJECTS_EN: tuple[str, ...] = (
    "Invoice request", "Cannot log in", "Shipment delayed", "Refund request",
    "Update billing address", "Contract renewal", "Damaged item received",
    "API integration question",
    "Statement reconciliation", "Add new user", "Pricing question", "Error on checkout page",
)
