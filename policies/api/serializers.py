"""Input and output of `GET policies/?admdvs=&date=`: money as strings with two decimals, rates as decimal strings."""

from rest_framework import serializers

from core.api_fields import ContractDateField
from core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from policies.models import (
    RATE_DECIMAL_PLACES,
    RATE_MAX_DIGITS,
    BenefitRule,
    CreditRule,
    EnrolleeClass,
    PaymentMethod,
    PolicyVersion,
    ReferenceValue,
)


def money(**kwargs: object) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES,
                                    coerce_to_string=True, read_only=True, **kwargs)


def rate_field(**kwargs: object) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=RATE_MAX_DIGITS, decimal_places=RATE_DECIMAL_PLACES,
                                    coerce_to_string=True, read_only=True, **kwargs)


class PolicyQuerySerializer(serializers.Serializer):
    admdvs = serializers.RegexField(r"^[0-9]{6}$", help_text="region code, e.g. 370100")
    date = ContractDateField(help_text="the service date, YYYY-MM-DD")
    insutype = serializers.ChoiceField(choices=[("310", "employee"), ("390", "resident")], default="310",
                                       help_text="310 employee (default) or 390 resident insurance")


class ReferenceValueOutputSerializer(serializers.ModelSerializer):
    amount = money()

    class Meta:
        model = ReferenceValue
        fields = ["kind", "year", "amount"]


class EnrolleeClassOutputSerializer(serializers.ModelSerializer):
    psn_types = serializers.SerializerMethodField()

    class Meta:
        model = EnrolleeClass
        fields = ["code", "name", "psn_types", "retire_date_from", "retire_date_to"]

    def get_psn_types(self, obj: EnrolleeClass) -> list[str]:
        return sorted(obj.psn_type_set)


class BenefitRuleOutputSerializer(serializers.ModelSerializer):
    enrollee_class = serializers.CharField(source="enrollee_class.code", read_only=True)
    deductible = money()
    rate = rate_field()
    annual_cap = money(allow_null=True)
    supplementary_share_above_cap = rate_field()

    class Meta:
        model = BenefitRule
        fields = ["med_group", "dise_code", "enrollee_class", "facility_level", "deductible", "rate", "annual_cap",
                  "bucket", "supplementary_share_above_cap"]


class CreditRuleOutputSerializer(serializers.ModelSerializer):
    psn_types = serializers.SerializerMethodField()
    rate = rate_field(allow_null=True)
    amount = money(allow_null=True)

    class Meta:
        model = CreditRule
        fields = ["name", "psn_types", "age_min", "age_max", "basis", "rate", "amount", "reference_kind",
                  "reference_year", "frequency", "pocket", "prorate_first_year"]

    def get_psn_types(self, obj: CreditRule) -> list[str]:
        return sorted(obj.psn_type_set)


class PaymentMethodOutputSerializer(serializers.ModelSerializer):
    rate = money(allow_null=True)

    class Meta:
        model = PaymentMethod
        fields = ["med_type_group", "dise_code", "facility_level", "clr_way", "rate"]


class SepPayOutputSerializer(serializers.Serializer):
    rate = rate_field(source="sep_pay_rate", allow_null=True)
    annual_cap = money(source="sep_pay_annual_cap", allow_null=True)
    bucket = serializers.CharField(source="sep_pay_bucket")


class PlausibilityOutputSerializer(serializers.Serializer):
    line_max = money(source="plausible_line_max", help_text="a bill line above this is refused (AMOUNT_IMPLAUSIBLE)")
    bill_max = money(source="plausible_bill_max", help_text="a bill above this is refused (AMOUNT_IMPLAUSIBLE)")


class OptionsOutputSerializer(serializers.Serializer):
    current_pocket_first = serializers.BooleanField()
    two_pockets = serializers.BooleanField()
    mulaid_pockets = serializers.ListField(child=serializers.CharField())
    pharmacy_settlement = serializers.CharField()
    acct_pays_out_of_scope = serializers.BooleanField()
    relative_contributions = serializers.ListField(child=serializers.CharField())
    cross_region_unfiled = serializers.CharField(help_text="refuse or lower_rate: an unfiled visit in another region")
    cross_region_rate_cut = rate_field(help_text="points taken off every rate of an unfiled visit (lower_rate)")


class PolicyVersionOutputSerializer(serializers.ModelSerializer):
    admdvs = serializers.CharField(source="region.admdvs")
    region_name = serializers.CharField(source="region.name")
    benefit_year_start = serializers.SerializerMethodField()
    options = OptionsOutputSerializer(source="*")
    reference_values = ReferenceValueOutputSerializer(many=True)
    enrollee_classes = EnrolleeClassOutputSerializer(many=True)
    benefit_rules = BenefitRuleOutputSerializer(many=True)
    credit_rules = CreditRuleOutputSerializer(many=True)
    payment_methods = PaymentMethodOutputSerializer(many=True)
    sep_pay = SepPayOutputSerializer(source="*", help_text="separately paid drugs (rate null: settled as ordinary "
                                                            "lines)")
    plausibility = PlausibilityOutputSerializer(source="*")

    class Meta:
        model = PolicyVersion
        fields = ["code", "admdvs", "region_name", "insutype", "title", "source_document", "status", "effective_from",
                  "effective_to", "benefit_year_start", "options", "reference_values", "enrollee_classes",
                  "benefit_rules", "credit_rules", "payment_methods", "sep_pay", "plausibility"]

    def get_benefit_year_start(self, obj: PolicyVersion) -> str:
        """MM-DD"""
        return f"{obj.benefit_year_start_month:02d}-{obj.benefit_year_start_day:02d}"
