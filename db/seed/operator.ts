import type { Role } from '../staff';

/**
 * The synthetic operator: one province, its cities, counties and areas, the demo staff, and the
 * product catalogue. Fixed data; only the customers are drawn at random.
 */
export const province = { id: 'GD', name: '广东省' };

export const cities = [
  { code: 'GZ', name: '广州市', short: '广州', weight: 35, counties: [['TH', '天河区'], ['YX', '越秀区'], ['HZ', '海珠区'], ['BY', '白云区']] },
  { code: 'SZ', name: '深圳市', short: '深圳', weight: 35, counties: [['FT', '福田区'], ['NS', '南山区'], ['LG', '龙岗区'], ['BA', '宝安区']] },
  { code: 'FS', name: '佛山市', short: '佛山', weight: 15, counties: [['CC', '禅城区'], ['NH', '南海区'], ['SD', '顺德区']] },
  { code: 'DG', name: '东莞市', short: '东莞', weight: 15, counties: [['NC', '南城街道'], ['CA', '长安镇'], ['SL', '松山湖']] },
] as const;

export const areasPerCounty = [
  ['A1', '一片区'],
  ['A2', '二片区'],
] as const;

export const demoPassword = 'keyflow-demo';

export interface DemoStaff {
  username: string;
  displayName: string;
  orgUnitId: string;
  roles: Role[];
}

/**
 * Staff in every role: province-wide roles at the top, supervisors and clerks per city, a supervisor
 * and two managers per county, one manager per area — so a supervision ticket can be walked down
 * 市 → 县 → 区域 to the customer managers.
 */
export function demoStaff(): DemoStaff[] {
  const staff: DemoStaff[] = [
    { username: 'admin', displayName: '系统管理员', orgUnitId: 'GD', roles: ['admin'] },
    { username: 'designer', displayName: '流程设计 陈工', orgUnitId: 'GD', roles: ['designer'] },
    { username: 'ops', displayName: '运维 李工', orgUnitId: 'GD', roles: ['ops'] },
    { username: 'supervisor', displayName: '省公司督办 王经理', orgUnitId: 'GD', roles: ['supervisor'] },
    { username: 'billing', displayName: '省公司账务 赵会计', orgUnitId: 'GD', roles: ['billing_clerk'] },
  ];
  for (const city of cities) {
    const cityId = `GD-${city.code}`;
    const prefix = city.code.toLowerCase();
    staff.push(
      { username: `${prefix}.supervisor`, displayName: `${city.short}督办主管`, orgUnitId: cityId, roles: ['supervisor'] },
      { username: `${prefix}.dispatcher`, displayName: `${city.short}调度`, orgUnitId: cityId, roles: ['dispatcher'] },
      { username: `${prefix}.billing`, displayName: `${city.short}账务`, orgUnitId: cityId, roles: ['billing_clerk'] },
    );
    for (const [code, name] of city.counties) {
      const countyLogin = `${prefix}-${code.toLowerCase()}`;
      for (const index of [1, 2]) {
        staff.push({
          username: `${countyLogin}.cm${index}`,
          displayName: `${name}客户经理${index}`,
          orgUnitId: `${cityId}-${code}`,
          roles: ['customer_manager'],
        });
      }
      staff.push({ username: `${countyLogin}.supervisor`, displayName: `${name}督办主管`, orgUnitId: `${cityId}-${code}`, roles: ['supervisor'] });
      for (const [areaCode, areaName] of areasPerCounty) {
        staff.push({
          username: areaManagerLogin(countyLogin, areaCode),
          displayName: `${name}${areaName}客户经理`,
          orgUnitId: `${cityId}-${code}-${areaCode}`,
          roles: ['customer_manager'],
        });
      }
    }
  }
  return staff;
}

/** The customer manager of an area (`gz-th-a1.cm1`): accounts of the area may have them as manager. */
export function areaManagerLogin(countyLogin: string, areaCode: string): string {
  return `${countyLogin}-${areaCode.toLowerCase()}.cm1`;
}

/** The logins `keyflow start` prints. */
export const demoLogins = ['admin', 'designer', 'ops', 'supervisor', 'billing', 'gz.supervisor', 'gz.dispatcher', 'gz-th.supervisor', 'gz-th.cm1', 'gz-th-a1.cm1'];

export const products = [
  { id: 'DIA-100M', name: '互联网专线 100M', category: 'internet', monthly: 300_000, oneOff: 200_000, newPrice: 260_000, network: 'DIA', bandwidthMbps: 100 },
  { id: 'DIA-1G', name: '互联网专线 1G', category: 'internet', monthly: 1_500_000, oneOff: 500_000, newPrice: null, network: 'DIA', bandwidthMbps: 1000 },
  { id: 'MPLS-VPN-50M', name: 'MPLS VPN 数据专线 50M', category: 'dedicated_line', monthly: 200_000, oneOff: 100_000, newPrice: null, network: 'MPLS-VPN', bandwidthMbps: 50 },
  { id: 'SDWAN-BASIC', name: 'SD-WAN 组网 基础版', category: 'dedicated_line', monthly: 80_000, oneOff: 0, newPrice: 68_000, network: 'SDWAN', bandwidthMbps: 100 },
  { id: 'SIP-TRUNK-30', name: 'SIP 中继 30 路', category: 'voice', monthly: 90_000, oneOff: 50_000, newPrice: null, network: 'VOICE-TRUNK', bandwidthMbps: 10 },
  { id: 'GROUP-VNET', name: '集团 V 网', category: 'voice', monthly: 20_000, oneOff: 0, newPrice: null, network: null, bandwidthMbps: null },
  { id: 'MOBILE-GROUP-88', name: '集团手机套餐 88 元', category: 'mobile', monthly: 8_800, oneOff: 0, newPrice: null, network: null, bandwidthMbps: null },
  { id: 'SMS-BULK-100K', name: '行业短信 10 万条/月', category: 'sms', monthly: 50_000, oneOff: 0, newPrice: null, network: null, bandwidthMbps: null },
  { id: 'CLOUD-ECS-4C8G', name: '云主机 4 核 8G', category: 'cloud', monthly: 60_000, oneOff: 0, newPrice: 52_000, network: null, bandwidthMbps: null },
  { id: 'CDN-1T', name: 'CDN 加速 1TB/月', category: 'cloud', monthly: 40_000, oneOff: 0, newPrice: null, network: null, bandwidthMbps: null },
  { id: 'IDC-RACK-42U', name: 'IDC 标准机柜 42U', category: 'idc', monthly: 500_000, oneOff: 300_000, newPrice: null, network: 'IDC-RACK', bandwidthMbps: 1000 },
  { id: 'IOT-CARD-10G', name: '物联网卡 10G/月', category: 'iot', monthly: 1_000, oneOff: 0, newPrice: null, network: null, bandwidthMbps: null },
] as const;

/** Every first tariff starts here; the second versions (price cuts) start at `repriceFrom`. */
export const catalogueFrom = '2023-01-01T00:00:00Z';
export const repriceFrom = '2025-01-01T00:00:00Z';
/** Accounts were won between this day and ~900 days later; no timestamp depends on the clock. */
export const historyFrom = Date.parse('2023-01-01T00:00:00Z');

export const industrySuffixes: Record<string, readonly string[]> = {
  government: ['政务服务中心', '行政服务局', '公共资源交易中心'],
  finance: ['银行分行', '证券营业部', '保险有限公司'],
  education: ['职业技术学院', '实验中学', '教育集团'],
  healthcare: ['人民医院', '医疗器械有限公司', '健康管理中心'],
  manufacturing: ['精密制造有限公司', '电子科技有限公司', '机械有限公司'],
  retail: ['商贸有限公司', '连锁超市有限公司', '百货有限公司'],
  logistics: ['物流有限公司', '供应链管理有限公司', '快运有限公司'],
  energy: ['能源有限公司', '燃气有限公司', '新能源科技有限公司'],
  media: ['传媒有限公司', '文化发展有限公司', '广告有限公司'],
  hospitality: ['酒店管理有限公司', '餐饮管理有限公司', '旅业有限公司'],
  technology: ['信息技术有限公司', '软件有限公司', '数据科技有限公司'],
  other: ['实业有限公司', '发展有限公司', '控股集团'],
};

export const nameCharacters = '恒通华盛嘉信安达鸿运锦程联创志远宏图天成瑞丰永泰金桥星辰海纳晨光中兴博雅立德明德卓越新元汇智'.split('');
export const surnames = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高梁郑谢宋唐'.split('');
export const givenNames = ['伟', '芳', '娜', '敏', '静', '强', '磊', '洋', '艳', '勇', '军', '杰', '娟', '涛', '明', '超', '秀英', '丽', '刚', '平', '建华', '志强', '海燕', '晓东'];
export const contactTitles = ['总经理', '信息中心主任', 'IT 经理', '财务经理', '采购经理', '行政主管', '网络工程师'];
export const troubleCategories = {
  fault: ['线路中断', '网络时延高', '丢包', '语音不通', '设备告警'],
  complaint: ['账单异议', '装机超时', '服务态度', '资费争议', '故障处理慢'],
} as const;
