//! Word lists and sentence banks the documents are written from.

pub const CITIES: &[&str] = &[
    "北京", "上海", "深圳", "广州", "杭州", "南京", "成都", "武汉", "苏州", "西安", "天津", "重庆",
    "合肥", "厦门", "青岛", "宁波", "长沙", "郑州", "济南", "福州",
];
pub const CITIES_EN: &[&str] = &[
    "Beijing",
    "Shanghai",
    "Shenzhen",
    "Guangzhou",
    "Hangzhou",
    "Nanjing",
    "Chengdu",
    "Wuhan",
    "Suzhou",
    "Singapore",
    "Hong Kong",
    "Rotterdam",
    "Hamburg",
    "Sydney",
    "Toronto",
];
pub const TRADE_NAMES: &[&str] = &[
    "恒信", "华泰", "瑞丰", "中远", "鼎盛", "汇通", "金桥", "宏达", "新元", "博远", "天成", "安泰",
    "永盛", "聚源", "明德", "启航", "嘉禾", "锦程", "致远", "和信", "同创", "泰和", "东方", "海川",
    "凯瑞", "德润", "正邦", "华信", "卓越", "盛世", "恒达", "瑞祥", "远景", "开元", "国信", "润泽",
];
pub const INDUSTRIES: &[&str] = &[
    "科技",
    "信息技术",
    "贸易",
    "建设工程",
    "电子",
    "机械设备",
    "物流",
    "医疗器械",
    "文化传媒",
    "环保科技",
    "新材料",
    "软件",
    "网络科技",
    "商贸",
    "实业",
    "智能装备",
];
pub const FORMS: &[&str] = &["有限公司", "股份有限公司", "有限责任公司"];
pub const EN_TRADE: &[&str] = &[
    "Northwind",
    "Bluestone",
    "Harbor",
    "Silverline",
    "Evergreen",
    "Pinecrest",
    "Redwood",
    "Lakeside",
    "Summit",
    "Meridian",
    "Crescent",
    "Oakridge",
    "Brightwater",
    "Kingsbridge",
    "Westfield",
    "Ironbridge",
    "Clearview",
    "Goldcrest",
];
pub const EN_INDUSTRY: &[&str] = &[
    "Trading",
    "Logistics",
    "Technologies",
    "Engineering",
    "Supplies",
    "Industrial",
    "Consulting",
    "Systems",
    "Electronics",
    "Materials",
];
pub const EN_FORMS: &[&str] = &["Ltd.", "Co., Ltd.", "Inc.", "LLC", "GmbH", "Pte. Ltd."];
pub const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁",
];
pub const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀英", "霞", "平", "刚", "桂英", "建华", "志强", "晓东", "文博", "子涵", "雨萱", "浩然",
    "思远", "宇航", "佳怡", "欣怡", "俊杰", "海燕", "国庆", "建国", "春梅", "立新", "振华",
];
pub const EN_FIRST: &[&str] = &[
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Susan",
    "Richard",
    "Jessica",
    "Thomas",
    "Sarah",
    "Daniel",
    "Karen",
    "Matthew",
    "Emily",
    "Wei",
    "Lin",
    "Hui",
];
pub const EN_LAST: &[&str] = &[
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson",
    "Taylor", "Moore", "Martin", "Lee", "Walker", "Hall", "Allen", "Young", "King", "Wright",
    "Zhang", "Wang", "Liu", "Chen",
];
pub const DISTRICTS: &[&str] = &[
    "朝阳区",
    "浦东新区",
    "南山区",
    "天河区",
    "西湖区",
    "鼓楼区",
    "武侯区",
    "江汉区",
    "工业园区",
    "高新区",
    "经济技术开发区",
    "雁塔区",
];
pub const ROADS: &[&str] = &[
    "建国路",
    "世纪大道",
    "科技园南路",
    "中山大道",
    "文三路",
    "汉中路",
    "天府大道",
    "解放大道",
    "星湖街",
    "长江路",
    "人民路",
    "创新路",
];
pub const EN_STREETS: &[&str] = &[
    "Harbour Road",
    "King Street",
    "Queen's Road",
    "Market Street",
    "Riverside Drive",
    "Station Road",
    "Park Avenue",
    "Industrial Way",
];
pub const DEPARTMENTS: &[&str] = &[
    "财务部",
    "人力资源部",
    "技术研发部",
    "市场营销部",
    "采购部",
    "行政部",
    "法务部",
    "客户服务部",
];
pub const POSITIONS: &[&str] = &[
    "工程师",
    "高级工程师",
    "项目经理",
    "财务主管",
    "销售经理",
    "行政专员",
    "部门经理",
    "技术总监",
];
pub const BANKS: &[&str] = &[
    "中国工商银行",
    "中国建设银行",
    "中国银行",
    "中国农业银行",
    "招商银行",
    "交通银行",
    "浦发银行",
    "中信银行",
];
pub const EN_BANKS: &[&str] = &[
    "Bank of China",
    "HSBC",
    "Standard Chartered Bank",
    "DBS Bank",
    "Citibank",
    "Deutsche Bank",
];

/// Goods: Chinese name, specification (often with Latin model names), unit, price range in
/// yuan.
pub const GOODS: &[(&str, &str, &str, u64, u64)] = &[
    ("笔记本电脑", "ThinkPad X1 Carbon", "台", 6_000, 15_000),
    ("台式计算机", "OptiPlex 7010", "台", 4_000, 9_000),
    ("激光打印机", "HP LaserJet M404dn", "台", 1_500, 4_000),
    ("服务器", "PowerEdge R750", "台", 30_000, 90_000),
    ("交换机", "S5735-L24T4S", "台", 2_000, 8_000),
    ("投影仪", "EB-L630U", "台", 5_000, 20_000),
    ("办公桌椅", "1.6m 组合套装", "套", 800, 3_000),
    ("空调", "KFR-72LW 3匹", "台", 4_000, 9_000),
    ("不锈钢管材", "Φ50×3mm 304", "米", 40, 120),
    ("电力电缆", "YJV-3×95", "米", 150, 400),
    ("监控摄像机", "DS-2CD3T46", "台", 400, 1_500),
    ("硬盘", "8TB SATA 7200rpm", "块", 900, 2_000),
    ("路由器", "AR6140-9G", "台", 3_000, 12_000),
    ("复印纸", "A4 70g 5包/箱", "箱", 120, 260),
    ("墨盒", "CF259A", "个", 200, 700),
    ("不间断电源", "UPS 10kVA", "台", 8_000, 25_000),
    ("显示器", "27英寸 4K", "台", 1_500, 4_500),
    ("扫描仪", "fi-7160", "台", 6_000, 15_000),
    ("防火墙", "USG6525E", "台", 20_000, 60_000),
    ("存储阵列", "OceanStor 5310", "套", 80_000, 300_000),
];
pub const EN_GOODS: &[(&str, &str, &str, u64, u64)] = &[
    (
        "Laptop computer",
        "ThinkPad X1 Carbon Gen 12",
        "pcs",
        900,
        2_200,
    ),
    ("Laser printer", "HP LaserJet M404dn", "pcs", 200, 600),
    ("Rack server", "PowerEdge R750", "pcs", 4_000, 13_000),
    ("Network switch", "24-port managed", "pcs", 300, 1_200),
    ("Projector", "EB-L630U", "pcs", 700, 3_000),
    ("Office chair", "ergonomic, mesh back", "pcs", 120, 450),
    ("Steel pipe", "304 stainless, 50 mm", "m", 6, 18),
    ("Power cable", "YJV 3x95 mm2", "m", 20, 60),
    ("Security camera", "4 MP bullet", "pcs", 60, 220),
    ("Hard disk", "8 TB SATA", "pcs", 130, 300),
    ("Copy paper", "A4 80 g, 5 reams", "box", 18, 40),
    ("UPS unit", "10 kVA online", "pcs", 1_100, 3_600),
    ("Monitor", "27-inch 4K", "pcs", 220, 650),
    (
        "Firewall appliance",
        "1 Gbps throughput",
        "pcs",
        3_000,
        9_000,
    ),
];
pub const SERVICES: &[&str] = &[
    "软件开发",
    "系统运维",
    "技术咨询",
    "数据迁移",
    "设备维保",
    "培训服务",
    "网络安全评估",
    "信息系统集成",
];
pub const LETTER_SUBJECTS: &[&str] = &[
    "商请协助开展项目验收工作",
    "申请延期支付货款",
    "确认合作事项",
    "商洽设备租赁事宜",
    "请求提供相关资料",
    "调整供货计划",
    "办理结算手续",
];
pub const CERT_PURPOSES: &[&str] = &[
    "银行贷款",
    "签证申请",
    "购房手续",
    "子女入学",
    "信用卡申请",
    "租房手续",
];

/// Contract clauses in Chinese: heading and sentences ({d} days, {p} percent, {c} city).
pub const CLAUSES_ZH: &[(&str, &[&str])] = &[
    (
        "交货",
        &[
            "乙方应于合同生效后{d}日内将货物送达甲方指定地点。",
            "货物的运输、装卸及保险费用由乙方承担。",
            "交货时乙方应提供装箱单、合格证及使用说明书。",
            "货物在交付甲方前的毁损、灭失风险由乙方承担。",
            "如需分批交货，乙方应提前三个工作日书面通知甲方。",
        ],
    ),
    (
        "付款方式",
        &[
            "合同签订后{d}日内，甲方向乙方支付合同总价的{p}%作为预付款。",
            "货物验收合格后，甲方凭乙方开具的增值税专用发票支付剩余款项。",
            "所有款项均以银行转账方式支付至乙方指定账户。",
            "乙方变更收款账户的，应提前以书面形式通知甲方并加盖公章。",
        ],
    ),
    (
        "验收",
        &[
            "甲方应在收到货物后{d}个工作日内组织验收。",
            "验收标准以本合同约定的规格型号及国家相关标准为准。",
            "验收不合格的，乙方应在接到通知后五日内免费更换。",
            "甲方逾期未提出书面异议的，视为验收合格。",
        ],
    ),
    (
        "质量保证",
        &[
            "乙方保证所供货物为全新、未使用过的原厂正品。",
            "质量保证期为验收合格之日起{d}个月。",
            "质保期内因产品质量问题产生的维修费用由乙方承担。",
            "乙方应在接到故障通知后二十四小时内作出响应。",
        ],
    ),
    (
        "违约责任",
        &[
            "乙方逾期交货的，每逾期一日应按合同总价的{p}‰向甲方支付违约金。",
            "甲方逾期付款的，每逾期一日应按未付金额的{p}‰向乙方支付违约金。",
            "任何一方违反本合同约定给对方造成损失的，应承担赔偿责任。",
            "违约金不足以弥补损失的，守约方有权要求继续赔偿。",
        ],
    ),
    (
        "保密",
        &[
            "双方对在履行本合同过程中知悉的对方商业秘密负有保密义务。",
            "未经对方书面同意，任何一方不得向第三方披露本合同内容。",
            "保密义务不因本合同的终止而失效。",
        ],
    ),
    (
        "不可抗力",
        &[
            "因不可抗力不能履行合同的，根据不可抗力的影响部分或全部免除责任。",
            "遭受不可抗力的一方应在事件发生后{d}日内通知对方并提供证明。",
            "不可抗力持续超过六十日的，双方均有权解除本合同。",
        ],
    ),
    (
        "争议解决",
        &[
            "因本合同引起的争议，双方应友好协商解决。",
            "协商不成的，任何一方均可向{c}仲裁委员会申请仲裁。",
            "仲裁裁决是终局的，对双方均有约束力。",
        ],
    ),
    (
        "其他",
        &[
            "本合同自双方签字盖章之日起生效。",
            "本合同一式四份，甲乙双方各执两份，具有同等法律效力。",
            "本合同未尽事宜，双方可另行签订补充协议。",
            "补充协议与本合同具有同等法律效力。",
        ],
    ),
];

/// Service contract clauses in Chinese.
pub const SERVICE_CLAUSES_ZH: &[(&str, &[&str])] = &[
    (
        "服务内容",
        &[
            "乙方按照本合同附件所列的技术要求为甲方提供{s}服务。",
            "乙方应指派具备相应资质的技术人员负责本项目的实施。",
            "服务过程中形成的文档资料应及时交付甲方存档。",
        ],
    ),
    (
        "双方的权利和义务",
        &[
            "甲方应为乙方提供必要的工作场所、网络环境及相关资料。",
            "乙方应遵守甲方的安全管理制度，不得擅自访问与服务无关的系统。",
            "乙方更换项目负责人的，应提前{d}日书面通知甲方。",
            "甲方有权对服务质量进行检查并提出整改意见。",
        ],
    ),
    (
        "知识产权",
        &[
            "乙方为履行本合同所开发成果的知识产权归甲方所有。",
            "乙方保证所提供的服务不侵犯任何第三方的合法权利。",
        ],
    ),
    (
        "违约责任",
        &[
            "乙方未按约定完成服务的，每逾期一日按服务费总额的{p}‰支付违约金。",
            "甲方未按约定付款的，每逾期一日按应付金额的{p}‰支付违约金。",
            "因一方违约给对方造成损失的，违约方应予赔偿。",
        ],
    ),
    (
        "争议解决",
        &[
            "因本合同发生的争议，双方应协商解决。",
            "协商不成的，提交甲方所在地人民法院诉讼解决。",
        ],
    ),
];

/// Contract clauses in English.
pub const CLAUSES_EN: &[(&str, &[&str])] = &[
    (
        "Delivery",
        &[
            "The Seller shall deliver the Goods to the Buyer's premises within {d} days after the Effective Date.",
            "Costs of transport, loading and insurance shall be borne by the Seller.",
            "Each delivery shall be accompanied by a packing list and a certificate of conformity.",
            "Risk in the Goods passes to the Buyer upon delivery.",
        ],
    ),
    (
        "Payment",
        &[
            "The Buyer shall pay {p} percent of the Contract Price as an advance within {d} days of signing.",
            "The balance shall be paid within thirty days after acceptance of the Goods.",
            "All payments shall be made by bank transfer to the account stated in this Agreement.",
            "Any change of the Seller's bank account must be notified in writing and signed by an authorised officer.",
        ],
    ),
    (
        "Acceptance",
        &[
            "The Buyer shall inspect the Goods within {d} working days after delivery.",
            "Goods that do not conform to the specifications may be rejected by written notice.",
            "Rejected Goods shall be replaced by the Seller free of charge within five days.",
        ],
    ),
    (
        "Warranty",
        &[
            "The Seller warrants that the Goods are new, unused and free from defects.",
            "The warranty period is {d} months from the date of acceptance.",
            "During the warranty period the Seller shall repair or replace defective Goods at its own cost.",
        ],
    ),
    (
        "Liability",
        &[
            "For each day of late delivery the Seller shall pay liquidated damages of {p} per mille of the Contract Price.",
            "Neither party shall be liable for indirect or consequential losses.",
            "The total liability of either party shall not exceed the Contract Price.",
        ],
    ),
    (
        "Confidentiality",
        &[
            "Each party shall keep confidential all information received from the other party.",
            "This obligation survives the termination of this Agreement.",
        ],
    ),
    (
        "Governing Law",
        &[
            "This Agreement is governed by the laws of the People's Republic of China.",
            "Any dispute shall be submitted to arbitration in {c}.",
            "The arbitral award shall be final and binding upon both parties.",
        ],
    ),
    (
        "Miscellaneous",
        &[
            "This Agreement enters into force on the date of signature by both parties.",
            "Amendments are valid only if made in writing and signed by both parties.",
            "This Agreement is made in two originals, one for each party.",
        ],
    ),
];

/// Sentences a forger puts in place of a clause's sentence, Chinese.
pub const FORGED_ZH: &[&str] = &[
    "甲方应于收到发票当日一次性支付全部合同价款。",
    "乙方有权在未通知甲方的情况下变更交货时间和地点。",
    "质保期内的维修费用由甲方自行承担。",
    "甲方逾期未验收的，乙方有权另行收取仓储费用。",
    "本合同项下的全部款项应支付至乙方法定代表人个人账户。",
    "乙方不承担因货物质量问题产生的任何赔偿责任。",
    "任何一方均可随时单方解除本合同而无需承担违约责任。",
    "争议由乙方所在地人民法院管辖。",
    "甲方同意放弃对货物质量提出异议的权利。",
    "乙方可将本合同项下的权利义务转让给第三方。",
];
/// Sentences a forger puts in place of a clause's sentence, English.
pub const FORGED_EN: &[&str] = &[
    "The Buyer shall pay the full Contract Price on the day the invoice is received.",
    "The Seller may change the delivery date without notice to the Buyer.",
    "Repairs during the warranty period shall be at the Buyer's expense.",
    "Payments may also be made to the personal account of the Seller's director.",
    "The Seller shall not be liable for any defect in the Goods.",
    "Either party may terminate this Agreement at any time without liability.",
    "The Seller may assign this Agreement to any third party.",
    "The Buyer waives all claims regarding the quality of the Goods.",
];
/// Lines a forger inserts, Chinese.
pub const INSERTED_ZH: &[&str] = &[
    "另：甲方同意额外支付技术服务费人民币伍万元整。",
    "补充：乙方可延期九十日交货且不承担违约责任。",
    "附加条款：本合同价款不含税，税费由甲方另行承担。",
    "另：收款账户变更为 6217 0000 1234 5678 901。",
    "补充约定：甲方放弃对本合同的验收权利。",
    "备注：本函所述款项由经办人个人代收。",
];
/// Lines a forger inserts, English.
pub const INSERTED_EN: &[&str] = &[
    "Note: the Buyer also pays a service fee of USD 50,000.00.",
    "Addendum: delivery may be delayed by ninety days without penalty.",
    "Prices exclude VAT, which the Buyer pays in addition.",
    "Payment account changed to 6217 0000 1234 5678 901.",
    "The Buyer waives its right of inspection.",
];
