//! The approved documents: purchase and service contracts, official letters (公函),
//! certificates (证明), quotations and invoices with tables, in Chinese, English and a
//! mix of both, written from word lists and templates and paginated.

use crate::content::{Align, Block, Document, Lang, Name, Page, Row, Style, Template};
use crate::fonts::{FontKind, Fonts};
use crate::layout::paginate;
use crate::money::{Date, DateStyle, daxie, english_amount, format_amount};
use crate::rng::Rng;
use crate::words::*;

/// Writes documents: names met are remembered so that a tamper can change one.
struct Writer<'a> {
    rng: &'a mut Rng,
    names: Vec<Name>,
}

impl Writer<'_> {
    fn company_zh(&mut self) -> String {
        let name = format!(
            "{}{}{}{}",
            self.rng.pick_str(CITIES),
            self.rng.pick_str(TRADE_NAMES),
            self.rng.pick_str(INDUSTRIES),
            self.rng.pick_str(FORMS)
        );
        self.remember(&name, false, Lang::Zh)
    }

    fn company_en(&mut self) -> String {
        let name = format!(
            "{} {} {}",
            self.rng.pick_str(EN_TRADE),
            self.rng.pick_str(EN_INDUSTRY),
            self.rng.pick_str(EN_FORMS)
        );
        self.remember(&name, false, Lang::En)
    }

    fn person_zh(&mut self) -> String {
        let name = format!(
            "{}{}",
            self.rng.pick_str(SURNAMES),
            self.rng.pick_str(GIVEN)
        );
        self.remember(&name, true, Lang::Zh)
    }

    fn person_en(&mut self) -> String {
        let name = format!(
            "{} {}",
            self.rng.pick_str(EN_FIRST),
            self.rng.pick_str(EN_LAST)
        );
        self.remember(&name, true, Lang::En)
    }

    fn remember(&mut self, text: &str, person: bool, lang: Lang) -> String {
        if !self.names.iter().any(|n| n.text == text) {
            self.names.push(Name {
                text: text.to_owned(),
                person,
                lang,
            });
        }
        text.to_owned()
    }

    fn date(&mut self) -> Date {
        let year = self.rng.range(2025, 2027) as u32;
        let month = self.rng.range(1, 12) as u32;
        let day = self.rng.range(1, u64::from(Date::month_days(year, month))) as u32;
        Date { year, month, day }
    }

    fn number(&mut self, prefix: &str, year: u32) -> String {
        format!("{prefix}-{year}-{:04}", self.rng.range(1, 9999))
    }

    fn address_zh(&mut self, city: &str) -> String {
        format!(
            "{city}市{}{}{}号",
            self.rng.pick_str(DISTRICTS),
            self.rng.pick_str(ROADS),
            self.rng.range(1, 999)
        )
    }

    fn address_en(&mut self) -> String {
        format!(
            "{} {}, {}",
            self.rng.range(1, 300),
            self.rng.pick_str(EN_STREETS),
            self.rng.pick_str(CITIES_EN)
        )
    }

    fn account(&mut self) -> String {
        let groups: Vec<String> = (0..4)
            .map(|_| format!("{:04}", self.rng.range(0, 9999)))
            .collect();
        format!("{} {:03}", groups.join(" "), self.rng.range(0, 999))
    }

    fn phone(&mut self) -> String {
        format!(
            "1{}{} {:04} {:04}",
            self.rng.pick_str(&["3", "5", "8"]),
            self.rng.range(0, 9),
            self.rng.range(0, 9999),
            self.rng.range(0, 9999)
        )
    }

    /// `count` sentences of a clause (in their order), placeholders filled.
    fn sentences(&mut self, bank: &[&str], count: usize, city: &str, service: &str) -> Vec<String> {
        let mut idx: Vec<usize> = (0..bank.len()).collect();
        self.rng.shuffle(&mut idx);
        let mut chosen: Vec<usize> = idx.into_iter().take(count.max(1)).collect();
        chosen.sort_unstable();
        chosen
            .into_iter()
            .filter_map(|i| bank.get(i))
            .map(|s| {
                s.replace(
                    "{d}",
                    &self.rng.pick_str(&["5", "7", "10", "15", "20", "30"]),
                )
                .replace("{p}", &self.rng.pick_str(&["3", "5", "10", "20", "30"]))
                .replace("{c}", city)
                .replace("{s}", service)
            })
            .collect()
    }

    /// Line items: (name, model, unit, quantity, unit price in cents).
    fn goods(&mut self, english: bool, count: usize) -> Vec<(String, String, String, u64, u64)> {
        let bank = if english { EN_GOODS } else { GOODS };
        let mut idx: Vec<usize> = (0..bank.len()).collect();
        self.rng.shuffle(&mut idx);
        idx.into_iter()
            .take(count)
            .filter_map(|i| bank.get(i))
            .map(|(name, model, unit, lo, hi)| {
                let bulk = matches!(*unit, "米" | "箱" | "m" | "box");
                let qty = if bulk {
                    self.rng.range(10, 400)
                } else {
                    self.rng.range(1, 40)
                };
                let mut price = self.rng.range(*lo, *hi) * 100;
                if price > 100_000 {
                    price = price / 1000 * 1000;
                }
                if self.rng.chance(0.2) {
                    price += 50;
                }
                (
                    (*name).to_owned(),
                    (*model).to_owned(),
                    (*unit).to_owned(),
                    qty,
                    price,
                )
            })
            .collect()
    }
}

/// The style of the documents of template pair `group`.
pub fn style_for(seed: u64, group: u64) -> Style {
    let mut rng = Rng::derive(seed, "style", group);
    Style {
        size: rng.range_f(3.6, 4.2) as f32,
        leading: rng.range_f(1.55, 1.8) as f32,
        font: if rng.chance(0.5) {
            FontKind::Serif
        } else {
            FontKind::Sans
        },
        margin: rng.range_f(20.0, 26.0) as f32,
    }
}

/// The template and language of document `index`: documents come in pairs of one
/// template (a swapped page comes from the other of the pair or a later one).
pub fn template_for(index: usize) -> (Template, Lang) {
    let group = index / 2;
    let template = Template::ALL[group % Template::ALL.len()];
    let round = group / Template::ALL.len();
    let lang = match template {
        Template::PurchaseContract | Template::Quotation if round % 2 == 1 => Lang::Mixed,
        Template::PurchaseContract
        | Template::Quotation
        | Template::ServiceContract
        | Template::OfficialLetter
        | Template::Certificate => Lang::Zh,
        Template::SupplyAgreement | Template::BusinessLetter | Template::Invoice => Lang::En,
    };
    (template, lang)
}

/// Generates document `index` of a corpus seeded with `seed`.
pub fn document(seed: u64, index: usize, fonts: &Fonts) -> Document {
    let (template, lang) = template_for(index);
    let style = style_for(seed, (index / 2) as u64);
    let mut rng = Rng::derive(seed, "document", index as u64);
    let mut w = Writer {
        rng: &mut rng,
        names: Vec::new(),
    };
    let (title, header, body) = match template {
        Template::PurchaseContract => purchase_contract(&mut w, lang),
        Template::ServiceContract => service_contract(&mut w),
        Template::OfficialLetter => official_letter(&mut w),
        Template::Certificate => certificate(&mut w),
        Template::Quotation => quotation(&mut w, lang),
        Template::SupplyAgreement => supply_agreement(&mut w),
        Template::BusinessLetter => business_letter(&mut w),
        Template::Invoice => invoice(&mut w),
    };
    let mut pages = paginate(body, header, &style, fonts);
    let count = pages.len();
    if count > 1 {
        for (i, page) in pages.iter_mut().enumerate() {
            let text = if lang == Lang::En {
                format!("Page {} of {count}", i + 1)
            } else {
                format!("第 {} 页 共 {count} 页", i + 1)
            };
            page.blocks.push(Block::Footer { text });
        }
    }
    Document {
        id: format!("doc-{index:03}"),
        template,
        lang,
        title,
        style,
        pages,
        names: w.names,
    }
}

type Parts = (String, Option<Block>, Vec<Block>);

fn line(text: impl Into<String>, align: Align) -> Block {
    Block::Line {
        text: text.into(),
        align,
        bold: false,
    }
}

fn para(text: impl Into<String>, indent: bool) -> Block {
    Block::Paragraph {
        text: text.into(),
        indent,
        clause: false,
    }
}

fn clause(text: impl Into<String>, indent: bool) -> Block {
    Block::Paragraph {
        text: text.into(),
        indent,
        clause: true,
    }
}

const NUMERALS: [&str; 15] = [
    "一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二", "十三", "十四",
    "十五",
];

fn numeral(n: usize) -> &'static str {
    NUMERALS.get(n.saturating_sub(1)).copied().unwrap_or("十")
}

/// A goods table with a total row; returns the block and the total in cents.
fn goods_table(
    items: &[(String, String, String, u64, u64)],
    english: bool,
    tax: Option<u64>,
) -> (Block, u64) {
    let mut rows = Vec::new();
    let mut total = 0;
    for (i, (name, model, unit, qty, price)) in items.iter().enumerate() {
        let amount = qty * price;
        total += amount;
        rows.push(Row {
            cells: vec![
                (i + 1).to_string(),
                name.clone(),
                model.clone(),
                unit.clone(),
                qty.to_string(),
                format_amount(*price),
                format_amount(amount),
            ],
            item: true,
        });
    }
    let blank = |first: &str, last: String| Row {
        cells: vec![
            String::new(),
            first.to_owned(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            last,
        ],
        item: false,
    };
    let mut grand = total;
    if let Some(percent) = tax {
        let tax_cents = total * percent / 100;
        grand = total + tax_cents;
        rows.push(blank(
            if english { "Subtotal" } else { "小计" },
            format_amount(total),
        ));
        rows.push(blank(
            &if english {
                format!("Tax ({percent}%)")
            } else {
                format!("税额（{percent}%）")
            },
            format_amount(tax_cents),
        ));
    }
    rows.push(blank(
        if english { "Total" } else { "合计" },
        format_amount(grand),
    ));
    let header = if english {
        vec![
            "No.",
            "Description",
            "Model",
            "Unit",
            "Qty",
            "Unit price",
            "Amount",
        ]
    } else {
        vec![
            "序号",
            "货物名称",
            "规格型号",
            "单位",
            "数量",
            "单价（元）",
            "金额（元）",
        ]
    };
    let block = Block::Table {
        widths: vec![0.07, 0.2, 0.25, 0.07, 0.08, 0.15, 0.18],
        aligns: vec![
            Align::Center,
            Align::Left,
            Align::Left,
            Align::Center,
            Align::Right,
            Align::Right,
            Align::Right,
        ],
        header: header.into_iter().map(str::to_owned).collect(),
        rows,
    };
    (block, grand)
}

fn purchase_contract(w: &mut Writer<'_>, lang: Lang) -> Parts {
    let mixed = lang == Lang::Mixed;
    let title = if mixed {
        "采购合同 Purchase Contract".to_owned()
    } else {
        w.rng
            .pick_str(&["采购合同", "设备采购合同", "货物买卖合同"])
    };
    let date = w.date();
    let number = w.number("CG", date.year);
    let city = w.rng.pick_str(CITIES);
    let buyer = w.company_zh();
    let seller = if mixed {
        w.company_en()
    } else {
        w.company_zh()
    };
    let header = Block::Header {
        left: buyer.clone(),
        right: format!("合同编号：{number}"),
    };
    let mut body = vec![
        Block::Title {
            text: title.clone(),
        },
        line(format!("合同编号：{number}"), Align::Right),
        line(
            format!("签订日期：{}", date.format(DateStyle::Chinese)),
            Align::Right,
        ),
        line(format!("甲方（买方）：{buyer}"), Align::Left),
        line(format!("地址：{}", w.address_zh(&city)), Align::Left),
        line(format!("乙方（卖方）：{seller}"), Align::Left),
        line(
            if mixed {
                format!("Address: {}", w.address_en())
            } else {
                let c2 = w.rng.pick_str(CITIES);
                format!("地址：{}", w.address_zh(&c2))
            },
            Align::Left,
        ),
        para(
            "根据《中华人民共和国民法典》及有关法律法规的规定，甲乙双方本着平等互利的原则，经友好协商，就甲方向乙方采购下列货物事宜达成如下协议，以资共同遵守。",
            true,
        ),
        Block::Heading {
            text: if mixed {
                "第一条 货物、数量及价格 Goods and Price".to_owned()
            } else {
                "第一条 货物名称、规格型号、数量及价格".to_owned()
            },
        },
    ];
    let count = w.rng.range(3, 9) as usize;
    let items = w.goods(false, count);
    let (table, total) = goods_table(&items, false, None);
    body.push(table);
    body.push(para(
        format!(
            "合同总金额为人民币 ¥{} 元（大写：{}），该价格已包含增值税、包装、运输及安装调试费用。",
            format_amount(total),
            daxie(total)
        ),
        true,
    ));
    let mut n = 2;
    for (i, (heading, bank)) in CLAUSES_ZH.iter().enumerate() {
        let always = matches!(*heading, "交货" | "付款方式" | "其他");
        if !always && !w.rng.chance(0.7) && i > 0 {
            continue;
        }
        let k = w.rng.range(2, 4) as usize;
        let mut sentences = w.sentences(bank, k, &city, "");
        if *heading == "付款方式" {
            let advance = total * w.rng.range(2, 5) / 10 / 100 * 100;
            sentences.push(format!(
                "首期付款金额为人民币 ¥{} 元（大写：{}）。",
                format_amount(advance),
                daxie(advance)
            ));
        }
        if *heading == "交货" {
            let due = date.plus_days(w.rng.range(10, 60) as u32);
            sentences.push(format!(
                "最迟交货日期为{}。",
                due.format(DateStyle::Chinese)
            ));
        }
        body.push(Block::Heading {
            text: format!("第{}条 {heading}", numeral(n)),
        });
        body.push(clause(sentences.concat(), true));
        n += 1;
    }
    body.push(Block::Gap { mm: 4.0 });
    let p1 = w.person_zh();
    let p2 = if mixed { w.person_en() } else { w.person_zh() };
    let bank = format!("{}{}分行", w.rng.pick_str(BANKS), w.rng.pick_str(CITIES));
    let acct = w.account();
    let sign_date = date.format(DateStyle::Chinese);
    body.push(Block::Signature {
        columns: vec![
            vec![
                format!("甲方：{buyer}"),
                format!("授权代表：{p1}"),
                "盖章处：".to_owned(),
                format!("日期：{sign_date}"),
            ],
            vec![
                format!("乙方：{seller}"),
                format!("授权代表：{p2}"),
                format!("开户行：{bank}"),
                format!("账号：{acct}"),
                "盖章处：".to_owned(),
                format!("日期：{sign_date}"),
            ],
        ],
        spot: "盖章处".to_owned(),
    });
    (title, Some(header), body)
}

fn service_contract(w: &mut Writer<'_>) -> Parts {
    let service = w.rng.pick_str(SERVICES);
    let title = if w.rng.chance(0.5) {
        "技术服务合同".to_owned()
    } else {
        format!("{service}服务合同")
    };
    let date = w.date();
    let number = w.number("FW", date.year);
    let city = w.rng.pick_str(CITIES);
    let client = w.company_zh();
    let provider = w.company_zh();
    let header = Block::Header {
        left: client.clone(),
        right: format!("合同编号：{number}"),
    };
    let start = date.plus_days(w.rng.range(5, 30) as u32);
    let end = start.plus_days(w.rng.range(90, 360) as u32);
    let total = w.rng.range(50, 2_000) * 100_000;
    let first = total * 3 / 10;
    let rest = total - first;
    let p1 = w.person_zh();
    let p2 = w.person_zh();
    let mut body = vec![
        Block::Title {
            text: title.clone(),
        },
        line(format!("合同编号：{number}"), Align::Right),
        line(format!("委托方（甲方）：{client}"), Align::Left),
        line(format!("受托方（乙方）：{provider}"), Align::Left),
        line(format!("签订地点：{city}"), Align::Left),
        para(
            format!(
                "甲方委托乙方提供{service}服务，双方经协商一致，根据《中华人民共和国民法典》的规定签订本合同，共同遵守。"
            ),
            true,
        ),
        Block::Heading {
            text: "第一条 服务期限".to_owned(),
        },
        clause(
            format!(
                "本合同服务期限自{}起至{}止。服务期满前三十日内，经双方协商一致可以续签。",
                start.format(DateStyle::Chinese),
                end.format(DateStyle::Chinese)
            ),
            true,
        ),
        Block::Heading {
            text: "第二条 服务费用及支付".to_owned(),
        },
        para(
            format!(
                "本合同服务费总额为人民币 ¥{} 元（大写：{}），含增值税。",
                format_amount(total),
                daxie(total)
            ),
            true,
        ),
        para(
            format!(
                "首期款：合同签订后十个工作日内，甲方向乙方支付 ¥{} 元（大写：{}）。",
                format_amount(first),
                daxie(first)
            ),
            true,
        ),
        para(
            format!(
                "尾款：服务验收合格后十个工作日内，甲方向乙方支付 ¥{} 元（大写：{}）。",
                format_amount(rest),
                daxie(rest)
            ),
            true,
        ),
    ];
    let mut banks: Vec<(&str, &[&str])> = SERVICE_CLAUSES_ZH.to_vec();
    banks.extend(
        CLAUSES_ZH
            .iter()
            .filter(|(h, _)| matches!(*h, "保密" | "其他"))
            .copied(),
    );
    for (n, (heading, bank)) in (3..).zip(banks) {
        let k = w.rng.range(2, 3) as usize;
        let sentences = w.sentences(bank, k, &city, &service);
        body.push(Block::Heading {
            text: format!("第{}条 {heading}", numeral(n)),
        });
        body.push(clause(sentences.concat(), true));
    }
    body.push(Block::Gap { mm: 4.0 });
    let sign = date.format(DateStyle::Chinese);
    body.push(Block::Signature {
        columns: vec![
            vec![
                format!("甲方：{client}"),
                format!("代表人：{p1}"),
                "盖章处：".to_owned(),
                format!("日期：{sign}"),
            ],
            vec![
                format!("乙方：{provider}"),
                format!("代表人：{p2}"),
                "盖章处：".to_owned(),
                format!("日期：{sign}"),
            ],
        ],
        spot: "盖章处".to_owned(),
    });
    (title, Some(header), body)
}

fn official_letter(w: &mut Writer<'_>) -> Parts {
    let org = w.company_zh();
    let recipient = w.company_zh();
    let subject = w.rng.pick_str(LETTER_SUBJECTS);
    let title = format!("关于{subject}的函");
    let date = w.date();
    let contract_date = Date {
        year: date.year - 1,
        ..date
    };
    let contract_date =
        if contract_date.day > Date::month_days(contract_date.year, contract_date.month) {
            Date {
                day: 28,
                ..contract_date
            }
        } else {
            contract_date
        };
    let abbr: String = org.chars().skip(2).take(2).collect();
    let contact = w.person_zh();
    let phone = w.phone();
    let amount = w.rng.range(20, 900) * 100_000 + w.rng.range(0, 9) * 1_000;
    let dept = w.rng.pick_str(DEPARTMENTS);
    let deadline = date.plus_days(w.rng.range(10, 45) as u32);
    let mut body = Vec::new();
    if w.rng.chance(0.7) {
        body.push(Block::Letterhead { text: org.clone() });
    }
    body.push(line(
        format!("{abbr}函〔{}〕{}号", date.year, w.rng.range(1, 99)),
        Align::Center,
    ));
    body.push(Block::Title {
        text: title.clone(),
    });
    body.push(line(format!("{recipient}："), Align::Left));
    let contract_no = w.number("HT", contract_date.year);
    body.push(clause(
        format!(
            "我司与贵单位于{}签订的合作合同（合同编号：{contract_no}）目前执行情况良好。为保证项目顺利推进，现就{subject}事宜函告如下。",
            contract_date.format(DateStyle::Chinese)
        ),
        true,
    ));
    body.push(clause(
        format!(
            "经我司研究，拟于{}前完成相关工作，涉及金额人民币 ¥{} 元（大写：{}）。请贵单位予以支持和配合为盼。",
            deadline.format(DateStyle::Chinese),
            format_amount(amount),
            daxie(amount)
        ),
        true,
    ));
    body.push(clause(
        format!("具体事宜请与我司{dept}{contact}联系，联系电话：{phone}。我司将安排专人负责对接，确保各项工作按期完成。"),
        true,
    ));
    body.push(para(
        w.rng
            .pick_str(&["特此函告。", "妥否，请予函复。", "请予支持为盼。"]),
        true,
    ));
    body.push(Block::Gap { mm: 10.0 });
    body.push(Block::Signature {
        columns: vec![
            vec![String::new()],
            vec![
                org.clone(),
                "盖章处：".to_owned(),
                date.format(DateStyle::Chinese),
            ],
        ],
        spot: "盖章处".to_owned(),
    });
    (title, None, body)
}

fn certificate(w: &mut Writer<'_>) -> Parts {
    let title = w.rng.pick_str(&["收入证明", "在职证明", "工作证明"]);
    let org = w.company_zh();
    let person = w.person_zh();
    let date = w.date();
    let since = Date {
        year: date.year - w.rng.range(1, 8) as u32,
        month: w.rng.range(1, 12) as u32,
        day: w.rng.range(1, 28) as u32,
    };
    let id = format!(
        "{}{}{:02}{:02}{:03}{}",
        w.rng
            .pick_str(&["110105", "310115", "440305", "330106", "510107"]),
        w.rng.range(1970, 2000),
        w.rng.range(1, 12),
        w.rng.range(1, 28),
        w.rng.range(0, 999),
        w.rng.pick_str(&["1", "3", "5", "7", "X"])
    );
    let monthly = w.rng.range(60, 600) * 10_000;
    let dept = w.rng.pick_str(DEPARTMENTS);
    let position = w.rng.pick_str(POSITIONS);
    let purpose = w.rng.pick_str(CERT_PURPOSES);
    let hr = w.person_zh();
    let phone = w.phone();
    let city = w.rng.pick_str(CITIES);
    let address = w.address_zh(&city);
    let number = w.number("ZM", date.year);
    let body = vec![
        Block::Title {
            text: title.clone(),
        },
        line(format!("编号：{number}"), Align::Right),
        Block::Gap { mm: 4.0 },
        clause(
            format!(
                "兹证明{person}（身份证号码：{id}）自{}起在我单位{dept}工作，现任{position}职务。该同志工作认真负责，遵守单位各项规章制度。",
                since.format(DateStyle::Chinese)
            ),
            true,
        ),
        clause(
            format!(
                "该员工近一年税前月平均收入为人民币 ¥{} 元（大写：{}），年收入合计人民币 ¥{} 元。",
                format_amount(monthly),
                daxie(monthly),
                format_amount(monthly * 12)
            ),
            true,
        ),
        clause(
            format!("本证明仅用于办理{purpose}，不作其他用途。我单位对本证明内容的真实性负责。"),
            true,
        ),
        para("特此证明。", true),
        Block::Gap { mm: 6.0 },
        line(format!("单位地址：{address}"), Align::Left),
        line(
            format!("人事联系人：{hr}    联系电话：{phone}"),
            Align::Left,
        ),
        Block::Gap { mm: 8.0 },
        Block::Signature {
            columns: vec![
                vec![String::new()],
                vec![
                    format!("单位：{org}"),
                    "盖章处：".to_owned(),
                    format!("日期：{}", date.format(DateStyle::Chinese)),
                ],
            ],
            spot: "盖章处".to_owned(),
        },
    ];
    (title, None, body)
}

fn quotation(w: &mut Writer<'_>, lang: Lang) -> Parts {
    let mixed = lang == Lang::Mixed;
    let title = if mixed {
        "报价单 QUOTATION".to_owned()
    } else {
        w.rng.pick_str(&["报价单", "结算单", "销售报价单"])
    };
    let date = w.date();
    let number = w.number("BJ", date.year);
    let seller = w.company_zh();
    let client = if mixed {
        w.company_en()
    } else {
        w.company_zh()
    };
    let contact = if mixed { w.person_en() } else { w.person_zh() };
    let agent = w.person_zh();
    let phone = w.phone();
    let count = w.rng.range(4, 12) as usize;
    let items = w.goods(false, count);
    let (table, total) = goods_table(&items, false, Some(13));
    let valid = date.plus_days(30);
    let city = w.rng.pick_str(CITIES);
    let bank = format!("{}{}分行", w.rng.pick_str(BANKS), city);
    let acct = w.account();
    let header = Block::Header {
        left: seller.clone(),
        right: format!("报价编号：{number}"),
    };
    let body = vec![
        Block::Title {
            text: title.clone(),
        },
        line(format!("报价编号：{number}"), Align::Right),
        line(
            format!("报价日期：{}", date.format(DateStyle::Chinese)),
            Align::Right,
        ),
        line(format!("客户名称：{client}"), Align::Left),
        line(format!("联系人：{contact}    电话：{phone}"), Align::Left),
        line(format!("报价单位：{seller}"), Align::Left),
        table,
        para(
            format!(
                "合计金额（含税）：人民币 ¥{} 元（大写：{}）。",
                format_amount(total),
                daxie(total)
            ),
            false,
        ),
        Block::Heading {
            text: if mixed { "备注 Notes" } else { "备注" }.to_owned(),
        },
        clause(
            format!(
                "本报价有效期至{}。交货期为合同签订后{}个工作日内。付款方式为款到发货，报价已含13%增值税及运费。",
                valid.format(DateStyle::Chinese),
                w.rng.range(5, 30)
            ),
            true,
        ),
        line(format!("户名：{seller}"), Align::Left),
        line(format!("开户行：{bank}"), Align::Left),
        line(format!("账号：{acct}"), Align::Left),
        Block::Gap { mm: 4.0 },
        Block::Signature {
            columns: vec![
                vec!["客户确认（签章）：".to_owned(), "日期：".to_owned()],
                vec![
                    format!("报价单位：{seller}"),
                    format!("经办人：{agent}"),
                    "盖章处：".to_owned(),
                    format!("日期：{}", date.format(DateStyle::Chinese)),
                ],
            ],
            spot: "盖章处".to_owned(),
        },
    ];
    (title, Some(header), body)
}

fn supply_agreement(w: &mut Writer<'_>) -> Parts {
    let title = w
        .rng
        .pick_str(&["SUPPLY AGREEMENT", "PURCHASE AGREEMENT", "SALES CONTRACT"]);
    let date = w.date();
    let number = w.number("SA", date.year);
    let buyer = w.company_en();
    let seller = w.company_en();
    let city = w.rng.pick_str(CITIES_EN);
    let city2 = w.rng.pick_str(CITIES_EN);
    let header = Block::Header {
        left: seller.clone(),
        right: format!("Agreement No. {number}"),
    };
    let count = w.rng.range(3, 8) as usize;
    let items = w.goods(true, count);
    let (table, total) = goods_table(&items, true, None);
    let mut body = vec![
        Block::Title {
            text: title.clone(),
        },
        line(format!("Agreement No. {number}"), Align::Right),
        para(
            format!(
                "This Agreement is made on {} between {buyer}, a company incorporated in {city} (the \"Buyer\"), and {seller}, a company incorporated in {city2} (the \"Seller\").",
                date.format(DateStyle::English)
            ),
            false,
        ),
        Block::Heading {
            text: "1. Goods and Price".to_owned(),
        },
        table,
        para(
            format!(
                "The total Contract Price is USD {} ({}). Prices include packing and delivery to the Buyer's premises.",
                format_amount(total),
                english_amount(total, "US dollars")
            ),
            false,
        ),
    ];
    let mut n = 2;
    for (heading, bank) in CLAUSES_EN {
        if !matches!(*heading, "Delivery" | "Payment" | "Miscellaneous") && !w.rng.chance(0.65) {
            continue;
        }
        let k = w.rng.range(2, 3) as usize;
        let mut sentences = w.sentences(bank, k, &city, "");
        if *heading == "Delivery" {
            let due = date.plus_days(w.rng.range(10, 60) as u32);
            sentences.push(format!(
                "The latest delivery date is {}.",
                due.format(DateStyle::English)
            ));
        }
        body.push(Block::Heading {
            text: format!("{n}. {heading}"),
        });
        body.push(clause(sentences.join(" "), false));
        n += 1;
    }
    body.push(Block::Gap { mm: 4.0 });
    let p1 = w.person_en();
    let p2 = w.person_en();
    let sign = date.format(DateStyle::English);
    body.push(Block::Signature {
        columns: vec![
            vec![
                "For the Buyer:".to_owned(),
                buyer.clone(),
                format!("Name: {p1}"),
                "Company seal (盖章处):".to_owned(),
                format!("Date: {sign}"),
            ],
            vec![
                "For the Seller:".to_owned(),
                seller.clone(),
                format!("Name: {p2}"),
                "Company seal (盖章处):".to_owned(),
                format!("Date: {sign}"),
            ],
        ],
        spot: "盖章处".to_owned(),
    });
    (title, Some(header), body)
}

fn business_letter(w: &mut Writer<'_>) -> Parts {
    let seller = w.company_en();
    let buyer = w.company_en();
    let person = w.person_en();
    let signer = w.person_en();
    let date = w.date();
    let order_date = date.plus_days(0);
    let ship = date.plus_days(w.rng.range(10, 40) as u32);
    let due = ship.plus_days(30);
    let order = w.number("PO", date.year);
    let amount = w.rng.range(50, 3_000) * 10_000 + w.rng.range(0, 99) * 100;
    let deposit = amount * 3 / 10;
    let bank = w.rng.pick_str(EN_BANKS);
    let acct = w.account();
    let subject = w.rng.pick_str(&[
        "Order Confirmation",
        "Payment Notice",
        "Letter of Confirmation",
    ]);
    let last = person.split(' ').next_back().unwrap_or("Sir").to_owned();
    let body = vec![
        Block::Line {
            text: seller.clone(),
            align: Align::Center,
            bold: true,
        },
        line(w.address_en(), Align::Center),
        Block::Gap { mm: 6.0 },
        line(date.format(DateStyle::English), Align::Right),
        line(person.clone(), Align::Left),
        line(buyer.clone(), Align::Left),
        line(w.address_en(), Align::Left),
        Block::Gap { mm: 4.0 },
        Block::Line {
            text: format!("Subject: {subject}, Order No. {order}"),
            align: Align::Left,
            bold: true,
        },
        line(format!("Dear Mr./Ms. {last},"), Align::Left),
        clause(
            format!(
                "We are pleased to confirm your order No. {order} dated {} in the total amount of USD {}. The goods will be shipped on or before {}.",
                order_date.format(DateStyle::English),
                format_amount(amount),
                ship.format(DateStyle::English)
            ),
            false,
        ),
        clause(
            format!(
                "A deposit of USD {} is payable by {} to our account No. {acct} with {bank}. The balance is due before shipment.",
                format_amount(deposit),
                due.format(DateStyle::English)
            ),
            false,
        ),
        clause(
            format!(
                "Should you have any questions, please contact {signer} at our sales office. We thank you for your continued business."
            ),
            false,
        ),
        line("Yours sincerely,", Align::Left),
        Block::Gap { mm: 4.0 },
        Block::Signature {
            columns: vec![
                vec![
                    seller.clone(),
                    "Company seal (盖章处):".to_owned(),
                    signer.clone(),
                    "Sales Manager".to_owned(),
                ],
                vec![String::new()],
            ],
            spot: "盖章处".to_owned(),
        },
    ];
    (subject, None, body)
}

fn invoice(w: &mut Writer<'_>) -> Parts {
    let title = w
        .rng
        .pick_str(&["INVOICE", "PROFORMA INVOICE", "COMMERCIAL INVOICE"]);
    let seller = w.company_en();
    let buyer = w.company_en();
    let attn = w.person_en();
    let signer = w.person_en();
    let date = w.date();
    let due = date.plus_days(30);
    let number = w.number("INV", date.year);
    let count = w.rng.range(3, 12) as usize;
    let items = w.goods(true, count);
    let (table, total) = goods_table(&items, true, Some(6));
    let bank = w.rng.pick_str(EN_BANKS);
    let acct = w.account();
    let header = Block::Header {
        left: seller.clone(),
        right: format!("Invoice No. {number}"),
    };
    let body = vec![
        Block::Title {
            text: title.clone(),
        },
        line(format!("Invoice No.: {number}"), Align::Right),
        line(
            format!("Date: {}", date.format(DateStyle::English)),
            Align::Right,
        ),
        line(
            format!("Due date: {}", due.format(DateStyle::English)),
            Align::Right,
        ),
        line(format!("Seller: {seller}"), Align::Left),
        line(format!("Bill to: {buyer}"), Align::Left),
        line(format!("Attn: {attn}"), Align::Left),
        table,
        para(
            format!(
                "Total amount due: USD {} ({}).",
                format_amount(total),
                english_amount(total, "US dollars")
            ),
            false,
        ),
        Block::Heading {
            text: "Bank details".to_owned(),
        },
        line(format!("Beneficiary: {seller}"), Align::Left),
        line(format!("Bank: {bank}"), Align::Left),
        line(format!("Account No.: {acct}"), Align::Left),
        clause(
            "Please quote the invoice number with your payment. Payment is due within thirty days of the invoice date. Late payments bear interest at one percent per month.",
            false,
        ),
        Block::Gap { mm: 4.0 },
        Block::Signature {
            columns: vec![
                vec![String::new()],
                vec![
                    format!("For {seller}"),
                    "Company seal (盖章处):".to_owned(),
                    format!("Authorised signature: {signer}"),
                ],
            ],
            spot: "盖章处".to_owned(),
        },
    ];
    (title, Some(header), body)
}

/// A page of `doc` for a blank capture: nothing at all, or only the page's header line.
pub fn blank_page(doc: &Document, page: usize, header_only: bool) -> Page {
    if !header_only {
        return Page::default();
    }
    let header = doc
        .pages
        .get(page)
        .and_then(|p| {
            p.blocks
                .iter()
                .find(|b| matches!(b, Block::Header { .. }))
                .cloned()
        })
        .unwrap_or_else(|| Block::Header {
            left: doc.title.clone(),
            right: String::new(),
        });
    Page {
        blocks: vec![header],
    }
}
