from rest_framework import serializers


def money() -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=True)


class StatementLineOutputSerializer(serializers.Serializer):
    clr_way = serializers.CharField()
    med_type_group = serializers.CharField()
    dise_code = serializers.CharField(help_text="per-disease lines: the disease; blank otherwise")
    count = serializers.IntegerField()
    medfee_sumamt = money()
    fund_pay_sumamt = money()
    amount = money()


class DeductionOutputSerializer(serializers.Serializer):
    setl_id = serializers.CharField(allow_null=True, help_text="blank for an extrapolated deduction")
    month = serializers.CharField(help_text="YYYY-MM: the month it comes from")
    kind = serializers.CharField()
    amount = money()
    reason = serializers.CharField()


class ApplicationComparisonSerializer(serializers.Serializer):
    """The facility's live clearing applications (3203) of the month beside the system's figures."""

    applications = serializers.IntegerField()
    applied = serializers.DictField(child=money())
    system = serializers.DictField(child=money())
    difference = serializers.DictField(child=money(), help_text="applied less the system's")


class StatementOutputSerializer(serializers.Serializer):
    month = serializers.CharField()
    fixmedins_code = serializers.CharField()
    status = serializers.CharField()
    lines = StatementLineOutputSerializer(many=True)
    deductions = DeductionOutputSerializer(many=True)
    payable = money()
    audit = serializers.CharField(help_text="the re-adjudication audit's state for the month")
    application = ApplicationComparisonSerializer()
